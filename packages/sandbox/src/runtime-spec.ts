/**
 * The parts of the OCI runtime specification (config.json, process.json) that the sandbox writes.
 * See https://github.com/opencontainers/runtime-spec/blob/main/config.md.
 */
export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable: string[];
  ambient: string[];
}

export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

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

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciNamespace {
  type: 'pid' | 'ipc' | 'uts' | 'mount' | 'network' | 'user' | 'cgroup';
  path?: string;
}

export interface OciDeviceRule {
  allow: boolean;
  access?: string;
  type?: string;
  major?: number;
  minor?: number;
}

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

export interface OciRuntimeSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: OciLinux;
  annotations?: Record<string, string>;
}
