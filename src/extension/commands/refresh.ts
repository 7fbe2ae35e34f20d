// Refresh: re-read every host, the store and the copies.
import type { Command } from './command';

export const refresh: Command = {
  id: 'snapdebug.refresh',
  run: (services) => services.refreshAll(),
};
