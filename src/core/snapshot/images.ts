// A restore needs the container's image on the target. When it is missing, and the user asked
// for it, the image streams from the source host's `podman save` into the target's `podman load`
// through this machine, never touching a disk in between.
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Core, WorkControl } from '../core';
import type { Host } from '../host';
import { podman } from '../podman/commands';
import { cleanStderr } from '../host';
import { AbortError } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { noProgress } from '../util/progress';

/** Whether a host has the image, by id first (exact), then by name. */
export async function hasImage(host: Host, image: { id?: string; name?: string }, signal?: AbortSignal): Promise<boolean> {
  const options = signal ? { signal } : {};
  for (const ref of [image.id, image.name]) {
    if (ref && (await host.podman(podman.imageExists(ref), options))) return true;
  }
  return false;
}

export async function transferImage(core: Core, request: { image: string; from: string; to: string }, control: WorkControl = {}): Promise<void> {
  const progress = control.progress ?? noProgress;
  const source = core.hosts.get(request.from);
  const target = core.hosts.get(request.to);
  const signal = control.signal;
  const save = await source.startPodman(podman.save(request.image), signal ? { signal } : {});
  const load = await target.startPodman(podman.load(), signal ? { signal } : {});
  const onAbort = () => {
    save.close();
    load.close();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      progress({ phase: 'transfer-image', message: `Copying image ${request.image} from ${request.from} to ${request.to}`, bytes });
      done(null, chunk);
    },
  });
  // load's stdin and stdout are one SSH channel: its output must flow, or the channel never ends.
  load.stdout.resume();
  try {
    await pipeline(save.stdout, counter, load.stdin);
    const [saveCode, loadCode] = await Promise.all([save.exit, load.exit]);
    if (signal?.aborted) throw new AbortError();
    if (saveCode !== 0) throw await source.failure(podman.save(request.image).argv, saveCode, cleanStderr(save.stderrText()));
    if (loadCode !== 0) throw await target.failure(podman.load().argv, loadCode, cleanStderr(load.stderrText()));
  } catch (error) {
    if (signal?.aborted) throw new AbortError();
    if (error instanceof SnapdebugError) throw error;
    throw new SnapdebugError(`Copying image ${request.image} from ${request.from} to ${request.to} failed.`, {
      detail: [cleanStderr(save.stderrText()), cleanStderr(load.stderrText())].filter(Boolean).join('\n'),
      cause: error,
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  core.log(`copied image ${request.image} from ${request.from} to ${request.to} (${bytes} bytes)`);
}
