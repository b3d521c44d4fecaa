/** The image builders `iii worker build` can drive, in the order they are tried. */
export const builderNames = ['docker', 'podman', 'buildah'] as const;

export type BuilderName = (typeof builderNames)[number];

export function isBuilderName(value: string): value is BuilderName {
  return (builderNames as readonly string[]).includes(value);
}
