// Fences set up and taken down by the host-side sh (fence/fenceShell.ts, remote/shellLib.ts), run
// here through a real `sh`, with the real nft of this machine applying our rules inside a network
// namespace of the test's own (the stand-in nsenter sends "PID 1's namespace" there) and a stand-in
// podman keeping networks as files: undo before acting, the shared/exclusive lock that keeps the
// table from going while a fence is being made, the table gone with the last fence, the owner
// check, the sweep of fences whose copy is gone — and through sudo, only nsenter and podman.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fenceSupport, setUpFence, takeDownFence, type Fence } from '../../../src/core/fence/fence';
import { fenceNames } from '../../../src/core/fence/rules';
import { sweepScript } from '../../../src/core/remote/shellLib';
import { eventually, standIns, type StandIns } from './remoteStandIns';

/** Networks as files in $FAKE_NETS (content: the label naming the copy); containers in $FAKE_CONTAINERS. */
const podman = `#!/bin/sh
echo "podman $*" >> "$FAKE_LOG"
case "$1 $2" in
  "network exists") [ -f "$FAKE_NETS/$3" ]; exit $? ;;
  "network create")
    for name; do :; done
    label=; prev=
    for a; do [ "$prev" = --label ] && label=\${a#snapdebug.fence=}; prev=$a; done
    [ -n "\${FAKE_CREATE_SLEEP:-}" ] && sleep "$FAKE_CREATE_SLEEP"
    printf '%s\\n' "$label" > "$FAKE_NETS/$name"
    echo "podman network created $name" >> "$FAKE_LOG" ;;
  "network inspect")
    [ -f "$FAKE_NETS/$5" ] || exit 125
    case $4 in *Labels*) cat "$FAKE_NETS/$5" ;; *Subnets*) echo "10.89.3.0/24 10.89.3.1" ;; esac ;;
  "network rm") rm "$FAKE_NETS/$3" || exit 125 ;;
  "network ls") [ -z "\${FAKE_LS_FAIL:-}" ] || exit 125; ls "$FAKE_NETS" ;;
  "container exists") case " \${FAKE_CONTAINERS:-} " in *" $3 "*) exit 0 ;; esac; exit 1 ;;
esac
exit 0
`;

/** "The host's network namespace" is the test's own: real nft, nothing of this machine's touched. */
const nsenter = `#!/bin/sh
echo "nsenter $*" >> "$FAKE_LOG"
[ "$1 $2 $3 $4" = "--target 1 --net --" ] || { echo "nsenter: unexpected $*" >&2; exit 99; }
shift 4
[ -z "\${FAKE_NO_NFT:-}" ] || { echo "nsenter: failed to execute $1: No such file or directory" >&2; exit 127; }
exec /usr/bin/nsenter --target "$FAKE_NETNS_PID" --net -- "$@"
`;

describe('fences on a host (host-side sh, real nft in a namespace of our own)', function () {
  this.timeout(30_000);
  let s: StandIns;
  let netns: ChildProcess;
  let nets: string;
  const nft = (...args: string[]) => execFileSync('/usr/bin/nsenter', ['--target', String(netns.pid), '--net', '--', 'nft', ...args], { encoding: 'utf8' });
  const tables = () => nft('list', 'tables');
  const fence = (id: string, allowed: Fence['allowed'] = []): Fence => ({ ...fenceNames(id), allowed, noDefaultRoute: true });
  /** podman's network commands since the fence's own first one (the session's sweep asks too). */
  const podmanLines = () => {
    const lines = s.lines().filter((l) => l.startsWith('podman network'));
    return lines.slice(lines.findIndex((l) => l.startsWith('podman network exists')));
  };

  before(async () => {
    netns = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
    await eventually(() => {
      try {
        return readFileSync(`/proc/${netns.pid}/comm`, 'utf8').trim() === 'sleep';
      } catch {
        return false;
      }
    }, 'the namespace holder');
  });
  after(() => {
    netns.kill('SIGKILL');
  });
  beforeEach(() => {
    s = standIns();
    for (const [name, text] of Object.entries({ podman, nsenter })) writeFileSync(join(s.dir, 'bin', name), text, { mode: 0o755 });
    nets = join(s.dir, 'networks');
    mkdirSync(nets);
    Object.assign(process.env, { FAKE_NETS: nets, FAKE_NETNS_PID: String(netns.pid) });
    for (const key of ['FAKE_CONTAINERS', 'FAKE_LS_FAIL', 'FAKE_CREATE_SLEEP', 'FAKE_NO_NFT']) delete process.env[key];
    if (tables().includes('snapdebug')) nft('delete', 'table', 'inet', 'snapdebug');
  });
  afterEach(() => s.cleanup());

  it('sets up our table, the copy\'s chain and its network (routed only to what it may reach); noted in the undo list first; through sudo only nsenter and podman', async () => {
    const host = s.host({ sudo: true });
    const work = await host.beginWork('restore');
    await setUpFence(work, fence('0a1b2c', [{ host: 'db', port: 5432, addresses: ['10.0.0.5'] }]), 'api-copy');
    assert.equal(readFileSync(join(work.dir, 'undo'), 'utf8'), 'fence 0a1b2c api-copy\n');
    const table = nft('list', 'table', 'inet', 'snapdebug');
    assert.match(table, /"snapdebug0a1b2c" : jump allow_0a1b2c/);
    assert.match(table, /chain allow_0a1b2c \{\s+ip daddr 10\.0\.0\.5 tcp dport 5432 accept\s+counter packets 0 bytes 0\s+\}/);
    assert.match(table, /chain forward \{\s+type filter hook forward priority filter - 10; policy accept;\s+iifname "snapdebug\*" jump fence\s+\}/);
    const create = 'podman network create --disable-dns --interface-name snapdebug0a1b2c --label snapdebug.fence=api-copy --opt no_default_route=true';
    assert.deepEqual(podmanLines(), [
      'podman network exists snapdebug-fence-0a1b2c',
      `${create} snapdebug-fence-0a1b2c`,
      'podman network created snapdebug-fence-0a1b2c',
      'podman network inspect --format {{range .Subnets}}{{.Subnet}} {{.Gateway}}{{end}} snapdebug-fence-0a1b2c',
      'podman network rm snapdebug-fence-0a1b2c',
      `${create} --route 10.0.0.5/32,10.89.3.1 --subnet 10.89.3.0/24 --gateway 10.89.3.1 snapdebug-fence-0a1b2c`,
      'podman network created snapdebug-fence-0a1b2c',
    ]);
    const privileged = new Set(s.lines().filter((l) => l.startsWith('sudo ')).map((l) => l.split(' ')[1]));
    assert.deepEqual([...privileged].sort(), ['nsenter', 'podman']);
    await work.finish();
  });

  it('setting up again changes nothing; a second copy gets its own entry; abandoning one takes down only its fence, and the last one takes the table', async () => {
    const host = s.host();
    const first = await host.beginWork('restore');
    await setUpFence(first, fence('0a1b2c'), 'one');
    const again = await host.beginWork('restore');
    await setUpFence(again, fence('0a1b2c'), 'one');
    await again.finish();
    const second = await host.beginWork('restore');
    await setUpFence(second, fence('3d4e5f'), 'two');
    const table = nft('list', 'table', 'inet', 'snapdebug');
    assert.equal(table.match(/reject with icmpx admin-prohibited/g)?.length, 1, 'the shared chain once');
    assert.match(table, /elements = \{ "snapdebug0a1b2c" : jump allow_0a1b2c,\s+"snapdebug3d4e5f" : jump allow_3d4e5f \}/);

    assert.deepEqual(await first.abandon(), ['fence 0a1b2c']);
    const after = nft('list', 'table', 'inet', 'snapdebug');
    assert.doesNotMatch(after, /0a1b2c/);
    assert.match(after, /"snapdebug3d4e5f" : jump allow_3d4e5f/, "the other copy's fence holds");
    assert.deepEqual(readdirSync(nets), ['snapdebug-fence-3d4e5f']);

    await second.finish();
    await takeDownFence(host, s.tmp, '3d4e5f', 'two');
    assert.deepEqual(readdirSync(nets), []);
    assert.doesNotMatch(tables(), /snapdebug/, 'no fence left: no table');
  });

  it('never takes down a network made for another copy, and keeps the table while podman cannot say none is left', async () => {
    const host = s.host();
    const work = await host.beginWork('restore');
    await setUpFence(work, fence('0a1b2c'), 'owner');
    await work.finish();
    await takeDownFence(host, s.tmp, '0a1b2c', 'someone-else');
    assert.deepEqual(readdirSync(nets), ['snapdebug-fence-0a1b2c']);
    assert.match(nft('list', 'table', 'inet', 'snapdebug'), /"snapdebug0a1b2c"/);

    process.env.FAKE_LS_FAIL = '1';
    await takeDownFence(host, s.tmp, '0a1b2c', 'owner');
    assert.deepEqual(readdirSync(nets), []);
    assert.match(tables(), /table inet snapdebug/, 'podman did not answer: the table stays');
  });

  it('the sweep takes down fences whose copy is gone, unless a live work is still making that copy', async () => {
    const host = s.host();
    const making = await host.beginWork('restore');
    await setUpFence(making, fence('aaaaaa'), 'being-made');
    const done = await host.beginWork('restore');
    await setUpFence(done, fence('bbbbbb'), 'running');
    await setUpFence(done, fence('cccccc'), 'removed-by-hand');
    await done.finish();
    process.env.FAKE_CONTAINERS = 'running';

    const swept = await host.runner.run(host.script(sweepScript, [s.tmp, '15']));
    assert.equal(swept.stdout.trim(), 'snapdebug-swept fence snapdebug-fence-cccccc (its copy removed-by-hand is gone)');
    assert.deepEqual(readdirSync(nets).sort(), ['snapdebug-fence-aaaaaa', 'snapdebug-fence-bbbbbb']);
    const table = nft('list', 'table', 'inet', 'snapdebug');
    assert.match(table, /aaaaaa/);
    assert.match(table, /bbbbbb/);
    assert.doesNotMatch(table, /cccccc/);
    await making.abandon();
  });

  it('a fence being set up holds the table: taking down the last other one waits for its network, and leaves the table', async () => {
    const host = s.host();
    const old = await host.beginWork('restore');
    await setUpFence(old, fence('0a1b2c'), 'old');
    await old.finish();
    process.env.FAKE_CREATE_SLEEP = '1';
    const setting = host.beginWork('restore').then((work) => setUpFence(work, fence('3d4e5f'), 'new').then(() => work.finish()));
    await eventually(() => s.lines().includes('podman network create --disable-dns --interface-name snapdebug3d4e5f --label snapdebug.fence=new --opt no_default_route=true snapdebug-fence-3d4e5f'), 'the new fence to be half made');
    delete process.env.FAKE_CREATE_SLEEP;
    await takeDownFence(host, s.tmp, '0a1b2c', 'old');
    await setting;
    const lines = s.lines();
    assert.ok(lines.indexOf('podman network created snapdebug-fence-3d4e5f') < lines.indexOf('podman network inspect --format {{index .Labels "snapdebug.fence"}} snapdebug-fence-0a1b2c'), 'the take-down waited for the lock');
    assert.deepEqual(readdirSync(nets), ['snapdebug-fence-3d4e5f']);
    assert.match(nft('list', 'table', 'inet', 'snapdebug'), /"snapdebug3d4e5f" : jump allow_3d4e5f/);
  });

  it('says whether a host can fence: nft in its namespace, or why not', async () => {
    const host = s.host({ sudo: true });
    const ok = await fenceSupport(host);
    assert.equal(ok.ok, true);
    assert.match(ok.detail, /^nftables v\d+\.\d+/);
    process.env.FAKE_NO_NFT = '1';
    assert.deepEqual(await fenceSupport(host), { ok: false, detail: 'nft (package nftables) is not installed' });
    assert.equal(existsSync(join(nets, 'x')), false);
  });
});
