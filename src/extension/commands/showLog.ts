// Show the "Snapshot Debugger" log channel.
import type { Command } from './command';

export const showLog: Command = {
  id: 'snapdebug.showLog',
  run: (services) => services.log.channel.show(true),
};
