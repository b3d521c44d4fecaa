export { dockerConfigJson } from './docker-config.ts';
export { FaultProxy, type RecordedRequest } from './fault-proxy.ts';
export { freePort } from './free-port.ts';
export { createLocalUser, type LocalUser, subordinateRange } from './local-user.ts';
export {
  type RegistryFlavor,
  RegistryStartError,
  type StartRegistryOptions,
  startRegistry,
  type TestRegistry,
} from './registry.ts';
export {
  type RegistryEndpoint,
  type RegistryRequestInit,
  type RegistryResponse,
  registryRequest,
} from './registry-request.ts';
export { INSTALL_COMMAND, MissingToolError, requireTools } from './require-tools.ts';
export { CommandFailedError, type RunOptions, runCommand } from './run-command.ts';
export { type CertificatePair, selfSignedCertificate } from './self-signed-cert.ts';
export {
  registryRef,
  type SkopeoAuthOptions,
  type SkopeoCopyOptions,
  type SkopeoInspectOptions,
  type SkopeoRegistry,
  skopeoCopy,
  skopeoInspect,
  skopeoRegistryArgs,
} from './skopeo.ts';
export { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.ts';
export { validateCompose, validateKubernetesObject } from './validate-manifests.ts';
