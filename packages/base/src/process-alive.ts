/**
 * Whether a process with this pid exists (signal 0). A process of another user counts as alive
 * (EPERM): it exists, this process may just not signal it.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
