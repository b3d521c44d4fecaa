#!/usr/bin/env bash
# The README quickstart in one command: from a clone of this repository, as root on Debian, it
# installs what it needs, scaffolds a Node worker with `iii init`, builds its image, adds it to a
# config.yaml, runs `iii`, calls the worker's function and stops everything again. Everything it
# makes lives in one temp dir (its own III_HOME too) that is removed at the end.
#
#   bash tools/quickstart.sh               # install (apt, npm ci, build), then the demo
#   bash tools/quickstart.sh --no-install  # the demo only, on an installed and built checkout
#   bash tools/quickstart.sh --keep        # leave the temp dir for a look around
#
# Step headings and progress go to stderr; the function's answer is printed on stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INSTALL=1
KEEP=0
NAME=greeter
for arg in "$@"; do
  case "$arg" in
    --no-install) INSTALL=0 ;;
    --keep) KEEP=1 ;;
    -h | --help)
      sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "quickstart: unknown option $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

STEP="starting"
STEP_NO=0
WORK=""
ENGINE_PID=""
ENGINE_LOG=""

BOLD=""
PLAIN=""
if [[ -t 2 ]]; then
  BOLD=$'\033[1m'
  PLAIN=$'\033[0m'
fi

step() {
  STEP_NO=$((STEP_NO + 1))
  STEP="$1"
  printf '\n%s==> %d. %s%s\n' "$BOLD" "$STEP_NO" "$STEP" "$PLAIN" >&2
}

# Shows a command the way a user would type it (the caller runs it).
show() {
  printf '$ %s\n' "$*" >&2
}

iii() {
  node "$ROOT/apps/cli/bin/run.js" "$@"
}

engine_alive() {
  [[ -n "$ENGINE_PID" ]] && kill -0 "$ENGINE_PID" 2>/dev/null
}

# Stops `iii` with SIGINT (what Ctrl-C sends) and returns its exit status. It stops the workers
# first, so it gets time before being killed. When it is already stopping (a Ctrl-C in the terminal
# reaches it too) it only waits: a second SIGINT would make it exit without stopping its workers.
stop_engine() {
  local signal=INT
  engine_alive || return 0
  if grep -q ': stopping' "$ENGINE_LOG" 2>/dev/null; then
    signal=0
  fi
  kill -"$signal" "$ENGINE_PID" 2>/dev/null || true
  for _ in $(seq 1 60); do
    engine_alive || break
    sleep 0.5
  done
  if engine_alive; then
    echo "quickstart: iii did not stop within 30 s of SIGINT; killing it" >&2
    kill -KILL "$ENGINE_PID" 2>/dev/null || true
  fi
  local status=0
  wait "$ENGINE_PID" 2>/dev/null || status=$?
  ENGINE_PID=""
  return "$status"
}

# State roots of the sandbox runtimes under our III_HOME (one per runtime, named after it).
runtime_roots() {
  [[ -n "${III_HOME:-}" && -d "$III_HOME" ]] || return 0
  find "$III_HOME" -maxdepth 4 -type d -path '*/runtime/*' \( -name runc -o -name crun \) 2>/dev/null
}

# Containers the sandbox runtimes still know about, as `<runtime> <root> <id>` lines.
leftover_containers() {
  local root runtime id
  while IFS= read -r root; do
    runtime="$(basename "$root")"
    command -v "$runtime" >/dev/null || continue
    while IFS= read -r id; do
      [[ -n "$id" ]] && printf '%s %s %s\n' "$runtime" "$root" "$id"
    done < <("$runtime" --root "$root" list -q 2>/dev/null || true)
  done < <(runtime_roots)
}

# After a failure iii may not have stopped its workers: remove their containers and unmount their
# root filesystems, so that deleting the scratch dir neither fails nor leaves processes behind.
force_cleanup() {
  local runtime root id mnt
  while read -r runtime root id; do
    "$runtime" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
  done < <(leftover_containers)
  while IFS= read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r)
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  if engine_alive; then
    stop_engine >/dev/null 2>&1
  fi
  if [[ $status -ne 0 ]]; then
    echo >&2
    if [[ $status -eq 130 || $status -eq 143 ]]; then
      echo "quickstart: interrupted at step ${STEP_NO} (${STEP})" >&2
    else
      echo "quickstart: FAILED at step ${STEP_NO} (${STEP}), exit status ${status}" >&2
    fi
    if [[ -n "$ENGINE_LOG" && -s "$ENGINE_LOG" ]]; then
      echo "quickstart: last lines of the iii output:" >&2
      tail -n 30 "$ENGINE_LOG" | sed 's/^/  | /' >&2
    fi
  fi
  cd /
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    [[ $status -ne 0 ]] && force_cleanup
    if [[ $KEEP -eq 1 ]]; then
      echo "quickstart: kept $WORK" >&2
    else
      rm -rf "$WORK"
    fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cd "$ROOT"

if [[ $INSTALL -eq 1 ]]; then
  step "Install the system packages (runc, buildah, skopeo, ...)"
  show bash tools/test-env/install.sh
  bash tools/test-env/install.sh >&2

  step "Install the npm packages"
  show npm ci --no-audit --no-fund
  npm ci --no-audit --no-fund >&2

  step "Build the iii CLI and its packages"
  show npm run build
  npm run build >&2
fi

step "Prepare a scratch directory with its own III_HOME"
# Lower case on purpose: buildah names images it reads from local paths after the path.
WORK="${TMPDIR:-/tmp}/iii-quickstart-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
mkdir -m 0700 "$WORK"
export III_HOME="$WORK/home"
export NODE_NO_WARNINGS=1
unset III_CONFIG_PATH III_URL
ENGINE_LOG="$WORK/iii.log"
echo "scratch dir: $WORK (III_HOME=$III_HOME)" >&2

step "Build the local Node base image (buildah, offline; cached after the first run)"
BASE_IMAGE="$(node --import tsx tools/quickstart/node-base-image.ts)"
echo "base image: $BASE_IMAGE" >&2

# From here on, commands run in the scratch dir exactly as a user types them: the worker project
# is ./greeter and the config is ./config.yaml.
cd "$WORK"

step "Scaffold a Node worker with iii init"
# @iii/sdk is not on npm yet: the project gets this checkout's SDK as the tarball npm would download,
# at the project's top, where the image build (which runs npm install itself) finds it.
SDK_TARBALL="$(npm pack "$ROOT/packages/sdk" --pack-destination "$WORK" --json |
  node -e 'let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => process.stdout.write(JSON.parse(s)[0].filename))')"
show iii init "$NAME" --lang node --sdk-version "file:./$SDK_TARBALL"
iii init "$NAME" --lang node --sdk-version "file:./$SDK_TARBALL"
mv "$WORK/$SDK_TARBALL" "$NAME/"

step "Build the worker image with iii worker build (buildah)"
show iii worker build "$NAME" -t "$NAME:0.1.0" --builder buildah --build-arg "BASE_IMAGE=$BASE_IMAGE"
BUILT="$(iii worker build "$NAME" -t "$NAME:0.1.0" --builder buildah \
  --build-arg "BASE_IMAGE=$BASE_IMAGE" --json)"
SOURCE="$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).source)' "$BUILT")"
echo "image: $SOURCE" >&2

step "Add the worker to config.yaml with iii worker add"
show iii worker add "$SOURCE"
iii worker add "$SOURCE"
echo "config.yaml:" >&2
sed 's/^/  | /' config.yaml >&2

step "Start iii (engine + workers) in the background"
# On a random free port, not the default 49134 the image declares (ENV III_URL in the template's
# Dockerfile): iii gives the worker the engine's real address.
show iii start --port 0
# node itself, not the iii function: a function in the background is a subshell, and the signals
# below must reach iii. The log exists before iii starts, so reading it never races its creation.
: >"$ENGINE_LOG"
node "$ROOT/apps/cli/bin/run.js" start --port 0 >"$ENGINE_LOG" 2>&1 &
ENGINE_PID=$!
ADDRESS=""
for _ in $(seq 1 120); do
  ADDRESS="$(sed -n 's/.*listening on \(ws:\/\/[^ ]*\).*/\1/p' "$ENGINE_LOG" | head -n 1)"
  [[ -n "$ADDRESS" ]] && break
  engine_alive || { echo "quickstart: iii exited before it listened" >&2; exit 1; }
  sleep 0.5
done
[[ -n "$ADDRESS" ]] || { echo "quickstart: iii did not listen within 60 s" >&2; exit 1; }
echo "iii is listening on $ADDRESS (pid $ENGINE_PID)" >&2
echo "the image says III_URL=ws://localhost:49134; iii gives the worker $ADDRESS instead" >&2

step "Wait until the worker has registered $NAME::hello"
registered=0
for _ in $(seq 1 120); do
  engine_alive || { echo "quickstart: iii exited while the worker was starting" >&2; exit 1; }
  if iii trigger engine::functions::list --data "{\"prefix\":\"$NAME::\"}" 2>/dev/null |
    grep -q "\"$NAME::hello\""; then
    registered=1
    break
  fi
  sleep 0.5
done
if [[ $registered -ne 1 ]]; then
  echo "quickstart: $NAME::hello was not registered within 60 s" >&2
  exit 1
fi
echo "$NAME::hello is registered" >&2

step "Call the worker: iii trigger $NAME::hello"
show iii trigger "$NAME::hello" name=iii
ANSWER="$(iii trigger "$NAME::hello" name=iii)"
echo "$ANSWER"

step "List the workers: iii worker list"
show iii worker list
iii worker list >&2

step "Show the worker's logs: iii worker logs $NAME"
show iii worker logs "$NAME"
iii worker logs "$NAME" >&2

step "Stop iii with Ctrl-C (SIGINT)"
pid="$ENGINE_PID"
if ! stop_engine; then
  echo "quickstart: iii did not exit cleanly after SIGINT" >&2
  exit 1
fi
sed 's/^/  | /' "$ENGINE_LOG" >&2
echo "iii (pid $pid) stopped with exit status 0" >&2
left="$(leftover_containers)"
if [[ -n "$left" ]]; then
  echo "quickstart: containers left after iii stopped: $(cut -d' ' -f3 <<<"$left" | tr '\n' ' ')" >&2
  exit 1
fi
mounts="$(awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts)"
if [[ -n "$mounts" ]]; then
  echo "quickstart: worker filesystems still mounted after iii stopped: $mounts" >&2
  exit 1
fi
echo "no sandbox container and no worker mount left" >&2

step "Done"
echo "The worker answered: $(node -e 'process.stdout.write(JSON.stringify(JSON.parse(process.argv[1])))' "$ANSWER")" >&2
