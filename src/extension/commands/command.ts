// The shape of every command: an id from package.json and a handler taking the services and
// whatever VS Code passes (a tree node from a menu, nothing from the palette).
import type { Services } from '../services';

export interface Command {
  id: string;
  run(services: Services, ...args: unknown[]): Promise<unknown> | unknown;
}
