/**
 * The parts of the OCI runtime specification (config.json, process.json) that the sandbox writes.
 * See https://github.com/opencontainers/runtime-spec/blob/main/config.md.
 */
export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

/** The capability sets of a process in an OCI runtime spec. */
export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable: string[];
  ambient: string[];
}

/** A resource limit (`RLIMIT_*`) of a process in an OCI runtime spec. */
export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

/** The process an OCI runtime spec starts: user, argv, environment, directory, capabilities, limits. */
export interface OciProcess {
  terminal: boolean;
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges: boolean;
}

/** A mount of an OCI runtime spec. */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

/** A Linux namespace of an OCI runtime spec: a new one, or one joined by path. */
export interface OciNamespace {
  type: 'pid' | 'ipc' | 'uts' | 'mount' | 'network' | 'user' | 'cgroup';
  path?: string;
}

/** A device cgroup rule of an OCI runtime spec. */
export interface OciDeviceRule {
  allow: boolean;
  access?: string;
  type?: string;
  major?: number;
  minor?: number;
}

/** The cgroup limits of an OCI runtime spec: devices, memory, CPU and pids. */
export interface OciResources {
  /** Absent rootless: runtimes cannot load device filters without privileges (and the user namespace denies devices anyway). */
  devices?: OciDeviceRule[];
  memory?: { limit: number; swap?: number };
  cpu?: { quota: number; period: number };
  pids: { limit: number };
}

/** One range of a user namespace's id map: `size` ids from `containerID` in the sandbox are `hostID` outside. */
export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** The Linux part of an OCI runtime spec: namespaces, id mappings, cgroup limits and paths. */
export interface OciLinux {
  namespaces: OciNamespace[];
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
  /** Absent where no cgroup can be written (rootless without delegation): runtimes then set none. */
  resources?: OciResources;
  cgroupsPath?: string;
  maskedPaths: string[];
  readonlyPaths: string[];
}

/** The OCI runtime spec (config.json of a bundle), as far as the sandbox writes it. */
export interface OciRuntimeSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: OciLinux;
  annotations?: Record<string, string>;
}
