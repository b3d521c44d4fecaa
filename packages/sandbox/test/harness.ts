// What the acceptance tests use from the package, plus the mount table reader.

export { findContainerCgroup, readCpuUsageNs } from '../src/cgroup.js';
export * from '../src/index.js';
export { readMounts as readMountsForTest } from '../src/mountinfo.js';
