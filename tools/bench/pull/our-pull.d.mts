/** Pulls and unpacks `reference` into `<workDir>/store` and `<workDir>/rootfs`; returns the rootfs path. */
export function ourPull(reference: string, workDir: string, signal?: AbortSignal): Promise<string>;
