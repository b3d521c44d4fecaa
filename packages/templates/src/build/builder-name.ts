/** The image builders `iii worker build` can drive, in the order they are tried. */
export const builderNames = ['docker', 'podman', 'buildah'] as const;

/** A tool that builds images: docker, podman or buildah. */
export type BuilderName = (typeof builderNames)[number];

/** Whether a string names a {@link BuilderName}. */
export function isBuilderName(value: string): value is BuilderName {
  return (builderNames as readonly string[]).includes(value);
}
