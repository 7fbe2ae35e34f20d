// The allowlist a copy's config.dump and spec.dump must pass: podman's own dumps of an
// unprivileged container (from the real archive layout fixture) pass untouched; each way a forged
// dump could reach the debug host is refused with its sentence. The host probe runs for real.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { approveCopy, pathProbe, type OriginalContainer } from '../../../src/core/archive/copyPolicy';
import { Host } from '../../../src/core/host';
import { LocalRunner } from '../../../src/core/ssh/runner';
import { fixture } from '../helpers';

type Json = Record<string, unknown>;

function podmanDump(name: 'config.dump' | 'spec.dump'): Json {
  return JSON.parse(execFileSync('sh', ['-c', 'zstd -dc "$1" | tar -xOf - "$2"', 'sh', fixture('demo-api-layout.tar.zst'), name], { encoding: 'utf8' })) as Json;
}

const podmanConfig = podmanDump('config.dump');
const podmanSpec = podmanDump('spec.dump');

/** A deep copy of podman's dumps, changed by `edit`. */
function dumps(edit: (dumps: { config: Json; spec: Json }) => void = () => undefined): { configDump: Buffer; specDump: Buffer } {
  const copy = structuredClone({ config: podmanConfig, spec: podmanSpec });
  edit(copy);
  return { configDump: Buffer.from(JSON.stringify(copy.config)), specDump: Buffer.from(JSON.stringify(copy.spec)) };
}

const noProbe = async (path: string): Promise<boolean> => assert.fail(`the host was asked about ${path}`);

async function refusal(d: { configDump: Buffer; specDump: Buffer }, original: OriginalContainer = {}, hostHas = noProbe): Promise<string> {
  try {
    await approveCopy(d, original, hostHas);
  } catch (error) {
    assert.equal((error as Error).name, 'SnapdebugError');
    return (error as Error).message;
  }
  return assert.fail('the copy was approved');
}

const refused = (what: string) => `${what}: the copy is refused, and nothing was restored.`;
const linux = (spec: Json) => spec['linux'] as Json;
const process_ = (spec: Json) => spec['process'] as Json;
const mounts = (spec: Json) => spec['mounts'] as Json[];
const bind = (source: string, destination: string, ro = false) => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate', ...(ro ? ['ro'] : [])] });

describe('copy policy', () => {
  it('approves podman\'s own dumps of an unprivileged container, asking the host nothing', async () => {
    await approveCopy(dumps(), {}, noProbe);
  });

  it('refuses dumps that are not JSON objects', async () => {
    assert.equal(await refusal({ configDump: Buffer.from('{'), specDump: Buffer.from('{}') }), refused("The archive's config.dump is not JSON"));
    assert.equal(await refusal({ configDump: Buffer.from('{}'), specDump: Buffer.from('[1]') }), refused("The archive's spec.dump is not a JSON object"));
  });

  describe('hooks and privileges', () => {
    it('refuses OCI hooks in spec.dump, and in the spec config.dump carries', async () => {
      const hook = { path: '/usr/local/bin/escape', args: ['escape'] };
      assert.equal(
        await refusal(dumps(({ spec }) => (spec['hooks'] = { prestart: [hook] }))),
        refused('spec.dump asks for the OCI hook "/usr/local/bin/escape" (prestart), which would run as root on the debug host'),
      );
      assert.equal(
        await refusal(dumps(({ spec }) => (spec['hooks'] = { prestart: [], poststop: [hook] }))),
        refused('spec.dump asks for the OCI hook "/usr/local/bin/escape" (poststop), which would run as root on the debug host'),
      );
      assert.equal(
        await refusal(dumps(({ config }) => ((config['spec'] as Json)['hooks'] = { createRuntime: [hook] }))),
        refused('config.dump asks for the OCI hook "/usr/local/bin/escape" (createRuntime), which would run as root on the debug host'),
      );
    });

    it('refuses a privileged container, one mounting all devices, one on a host folder', async () => {
      assert.equal(await refusal(dumps(({ config }) => (config['privileged'] = true))), refused('config.dump asks for a privileged container, which a copy never is'));
      assert.equal(await refusal(dumps(({ config }) => (config['mountAllDevices'] = true))), refused("config.dump mounts all of the host's devices into the container"));
      assert.equal(await refusal(dumps(({ config }) => (config['rootfs'] = '/'))), refused('config.dump runs the container on the host folder "/" instead of its image'));
    });

    it('refuses capabilities beyond podman\'s default set, in any of the five sets', async () => {
      for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient']) {
        const message = await refusal(
          dumps(({ spec }) => {
            const caps = process_(spec)['capabilities'] as Json;
            caps[set] = [...((caps[set] as string[] | undefined) ?? []), 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'];
          }),
        );
        assert.equal(message, refused("spec.dump gives the container CAP_SYS_ADMIN, CAP_SYS_PTRACE, beyond podman's default capabilities"), set);
      }
    });

    it('refuses added devices, and device rules that allow host devices', async () => {
      assert.equal(
        await refusal(dumps(({ spec }) => (linux(spec)['devices'] = [{ path: '/dev/sda', type: 'b', major: 8, minor: 0 }]))),
        refused('spec.dump adds the host device "/dev/sda" to the container'),
      );
      assert.equal(
        await refusal(dumps(({ spec }) => ((linux(spec)['resources'] as Json)['devices'] = [{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, access: 'rwm' }]))),
        refused('spec.dump lets the container use host devices (a device rule allows "b 8:*")'),
      );
    });

    it('refuses the host\'s namespaces, and joining one by path', async () => {
      const without = (type: string) => dumps(({ spec }) => (linux(spec)['namespaces'] = (linux(spec)['namespaces'] as Json[]).filter((ns) => ns['type'] !== type)));
      assert.equal(await refusal(without('pid')), refused("spec.dump puts the container in the host's pid namespace"));
      assert.equal(await refusal(without('network')), refused("spec.dump puts the container in the host's network namespace"));
      assert.equal(await refusal(without('mount')), refused("spec.dump puts the container in the host's mount namespace"));
      const joining = (type: string, path: string) =>
        dumps(({ spec }) => {
          for (const ns of linux(spec)['namespaces'] as Json[]) if (ns['type'] === type) ns['path'] = path;
        });
      assert.equal(await refusal(joining('mount', '/proc/1/ns/mnt')), refused('spec.dump joins the container to the mount namespace at "/proc/1/ns/mnt" on the debug host'));
      assert.equal(await refusal(joining('network', '/proc/1/ns/net')), refused('spec.dump joins the container to the network namespace at "/proc/1/ns/net" on the debug host'));
      // podman's own network namespace path is replaced with the copy's: only when podman made it.
      await approveCopy(joining('network', '/run/netns/netns-0000'), {}, noProbe);
      const notPodmans = dumps(({ config }) => (config['createNetNS'] = false));
      assert.match(await refusal(notPodmans), /joins the container to the network namespace at "\/run\/netns\/netns-/);
    });

    it('refuses a spec that unmasks /proc/kcore or leaves /proc/sysrq-trigger writable', async () => {
      assert.equal(
        await refusal(dumps(({ spec }) => (linux(spec)['maskedPaths'] = (linux(spec)['maskedPaths'] as string[]).filter((p) => p !== '/proc/kcore')))),
        refused('spec.dump leaves /proc/kcore visible in the container (podman masks it)'),
      );
      assert.equal(await refusal(dumps(({ spec }) => (linux(spec)['readonlyPaths'] = []))), refused('spec.dump leaves /proc/sys writable in the container (podman makes it read-only)'));
    });

    it('refuses annotations the OCI runtime acts on, but not podman\'s own', async () => {
      for (const key of ['org.criu.config', 'run.oci.handler', 'org.systemd.property.DeviceAllow']) {
        assert.equal(
          await refusal(dumps(({ spec }) => ((spec['annotations'] as Json)[key] = '/var/lib/containers/storage/volumes/x/_data/evil'))),
          refused(`spec.dump carries the annotation ${key}, which steers the OCI runtime on the debug host`),
        );
      }
      assert.ok((podmanSpec['annotations'] as Json)['org.systemd.property.KillSignal'], 'podman writes one of its own');
    });
  });

  describe('bind mounts', () => {
    const original: OriginalContainer = {
      mounts: [
        { type: 'bind', source: '/srv/config', destination: '/etc/app', rw: false },
        { type: 'bind', source: '/srv/data', destination: '/data', rw: true },
        { type: 'volume', source: '/var/lib/containers/storage/volumes/cache/_data', destination: '/cache', rw: true },
      ],
      volumes: ['cache'],
    };
    const withMounts = (...extra: Json[]) =>
      dumps(({ config, spec }) => {
        mounts(spec).push(...extra);
        config['namedVolumes'] = [{ volumeName: 'cache', dest: '/cache' }];
      });

    it('approves the original\'s bind mounts and volumes, asking the host about each bind source', async () => {
      const asked: string[] = [];
      await approveCopy(withMounts(bind('/srv/config', '/etc/app', true), bind('/srv/data', '/data'), bind('/var/lib/containers/storage/volumes/cache/_data', '/cache')), original, async (path) => {
        asked.push(path);
        return true;
      });
      assert.deepEqual(asked, ['/srv/config', '/srv/data']);
    });

    it('refuses a bind mount the original did not have', async () => {
      assert.equal(await refusal(withMounts(bind('/', '/host')), original), refused('spec.dump mounts "/" from the host at /host, which the original container did not'));
      assert.equal(await refusal(withMounts(bind('/srv/data', '/elsewhere')), original), refused('spec.dump mounts "/srv/data" from the host at /elsewhere, which the original container did not'));
      // A snapshot taken before mounts were recorded: only podman's own mounts and volumes pass.
      assert.equal(await refusal(withMounts(bind('/srv/data', '/data')), { volumes: ['cache'] }), refused('spec.dump mounts "/srv/data" from the host at /data, which the original container did not'));
      await approveCopy(withMounts(bind('/var/lib/containers/storage/volumes/cache/_data', '/cache')), { volumes: ['cache'] }, noProbe);
    });

    it('refuses a bind mount more writable than the original\'s', async () => {
      assert.equal(await refusal(withMounts(bind('/srv/config', '/etc/app')), original), refused('spec.dump mounts /srv/config writable at /etc/app, where the original had it read-only'));
    });

    it('refuses a second mount at a destination podman replaces: it removes only the first', async () => {
      const second = { destination: '/etc/hosts', type: 'bind', source: '/etc', options: ['rbind'] };
      assert.equal(await refusal(withMounts(second), original), refused('spec.dump mounts "/etc" from the host at /etc/hosts, which the original container did not'));
    });

    it('refuses a bind mount whose source the debug host lacks, and says how to fix it', async () => {
      try {
        await approveCopy(withMounts(bind('/srv/data', '/data')), original, async (path) => path !== '/srv/data');
        assert.fail('approved');
      } catch (error) {
        assert.equal((error as Error).message, refused('The debug host has no /srv/data, which the copy would mount at /data'));
        assert.deepEqual((error as { fix?: unknown }).fix, { text: 'Create /srv/data on the debug host, or restore the copy on a host that has it.' });
      }
    });

    it('asks a real host whether a path exists, through argv only', async () => {
      const has = pathProbe(new Host('local', new LocalRunner()));
      assert.equal(await has('/etc/passwd'), true);
      assert.equal(await has('/nonexistent/snapdebug-copy-policy'), false);
      assert.equal(await has("/tmp/$(touch /tmp/snapdebug-policy-injected)'"), false);
      assert.equal(await has('/tmp/snapdebug-policy-injected'), false, 'the path was never run by a shell');
    });
  });
});
