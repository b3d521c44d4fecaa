// Validation of exported manifests against the published schemas: Kubernetes objects through the
// OpenAPI schemas that kubernetes-models carries, Compose files through the Compose specification's
// JSON schema (vendored in compose-spec/, see its README).
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';

type Validating = new (data: never) => { validate(): void };

const MODELS: Record<string, Validating> = {
  'apps/v1/Deployment': Deployment as unknown as Validating,
  'batch/v1/Job': Job as unknown as Validating,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as unknown as Validating,
  'v1/Service': Service as unknown as Validating,
  'v1/Secret': Secret as unknown as Validating,
};

/**
 * Throws unless `object` is a valid Kubernetes object of a kind the exporter writes, naming the
 * object and every schema violation.
 */
export function validateKubernetesObject(object: unknown): void {
  const o = object as { apiVersion?: string; kind?: string; metadata?: { name?: string } };
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) throw new Error(`unexpected object ${o.apiVersion}/${o.kind}`);
  try {
    new Model(object as never).validate();
  } catch (err) {
    throw new Error(`${o.kind} ${o.metadata?.name}: ${(err as Error).message}`);
  }
}

let compose: ((data: unknown) => boolean) & { errors?: unknown } = Object.assign(() => false, {});
let compiled = false;

/** The Compose specification's schema violations of `file` (empty when valid). */
export function validateCompose(file: unknown): string[] {
  if (!compiled) {
    const schema = JSON.parse(
      readFileSync(new URL('./compose-spec/compose-spec.json', import.meta.url), 'utf8'),
    ) as Record<string, unknown>;
    // The schema names its draft by an https URL that Ajv's draft-07 meta-schema does not carry.
    delete schema.$schema;
    compose = new Ajv({ allErrors: true, strict: false }).compile(schema);
    compiled = true;
  }
  if (compose(file)) return [];
  return ((compose.errors as { instancePath: string; message?: string }[] | undefined) ?? []).map(
    (e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`,
  );
}
