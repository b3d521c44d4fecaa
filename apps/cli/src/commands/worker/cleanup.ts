import SystemCleanup from '../system/cleanup.js';

/** The same as `iii system cleanup`, where `iii worker list` points to it. */
export default class WorkerCleanup extends SystemCleanup {
  static override summary =
    'Stop the sandboxes an iii that was killed left running (as `iii system cleanup`).';
  static override examples = ['<%= config.bin %> worker cleanup', '<%= config.bin %> worker cleanup --json'];
}
