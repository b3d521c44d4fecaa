export { BaseCommand } from './base-command.js';
