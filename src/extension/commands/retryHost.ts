// Retry a host that failed, on a fresh connection.
import type { Command } from './command';
import { hostTarget } from './targets';

export const retryHost: Command = {
  id: 'snapdebug.retryHost',
  async run(services, node) {
    const host = await hostTarget(services, node);
    if (host) await services.views.hosts.retry(host);
  },
};
