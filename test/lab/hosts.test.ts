// The lab's hosts as users have them: `lab:up -- --all` runs prod and debug (trixie: podman 5.4,
// runc), edge and edge2 (sid: podman 5.8, crun by default with runc beside it, cgroup2-only hosts)
// and legacy (bookworm: podman 4.3, runc), all with CRIU 4.2.1; prod-sudo reaches prod as `dev`, whose
// sudo rule names only what snapdebug runs. `snapdebug doctor` shows each host's versions and
// what it can do, and --peer says which pairs can take each other's checkpoints.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDir } from '../../lab/paths';
import { labSsh, requireHosts, runCli } from './helpers';

interface Report {
  ok: boolean;
  checks: Array<{ name: string; level: string; detail: string; fix?: string }>;
}

const expected = {
  prod: { podman: '5.4.2', runtime: /^runc 1\.1\.15 /, cgroups: 'cgroup v1', tcpClose: /CRIU options file.*podman 5\.4\.2 restores without tcp-close/ },
  debug: { podman: '5.4.2', runtime: /^runc 1\.1\.15 /, cgroups: 'cgroup v1', tcpClose: /CRIU options file/ },
  edge: { podman: '5.8.6', runtime: /^crun 1\.28 built with CRIU$/, cgroups: 'cgroup v2', tcpClose: /^closed by podman's own tcp-close$/ },
  legacy: { podman: '4.3.1', runtime: /^runc 1\.1\.5 /, cgroups: 'cgroup v1', tcpClose: /CRIU options file.*podman 4\.3\.1 restores without tcp-close/ },
  edge2: { podman: '5.8.6', runtime: /^crun 1\.28 built with CRIU$/, cgroups: 'cgroup v2', tcpClose: /^closed by podman's own tcp-close$/ },
} as const;
const hosts = Object.keys(expected) as (keyof typeof expected)[];
const sudoPrograms = ['podman', 'criu', 'nsenter', 'kill', 'gdb', 'cat', 'rm'];

describe('lab hosts: versions, sudo, doctor', function () {
  this.timeout(180_000);
  const store = mkdtempSync(join(tmpdir(), 'snapdebug-hosts-'));
  before(() => requireHosts(...hosts));
  after(() => rmSync(store, { recursive: true, force: true }));
  const doctor = async (...args: string[]) => {
    const run = await runCli(store, ['--json', 'doctor', ...args]);
    return { code: run.code, report: JSON.parse(run.stdout) as Report };
  };

  it('each host runs its podman, runtime and CRIU 4.2.1, and criu check says "Looks good."', async () => {
    for (const host of hosts) {
      const out = await labSsh(host, "podman version --format '{{.Client.Version}}'; podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupsVersion}}'; criu --version | head -1; criu check 2>&1 | tail -1");
      const [podman, runtime, criu, check] = out.trim().split('\n');
      assert.equal(podman, expected[host].podman, host);
      assert.equal(runtime, `${expected[host].runtime.source.slice(1).split(' ')[0]} ${expected[host].cgroups.split(' ')[1]}`, host);
      assert.equal(criu, 'Version: 4.2.1', host);
      assert.equal(check, 'Looks good.', host);
    }
    // edge keeps runc beside crun (podman restores a checkpoint with the runtime that took it).
    assert.equal((await labSsh('edge', "podman --runtime runc info --format '{{.Host.OCIRuntime.Name}}'")).trim(), 'runc');
    assert.match(await labSsh('edge', 'runc --version'), /^runc version 1\.3\.6/);
    // edge sees a cgroup2-only hierarchy of its own, as a cgroup-v2 machine does.
    assert.equal((await labSsh('edge', 'stat -fc %T /sys/fs/cgroup; cat /proc/self/cgroup')).trim().split('\n')[0], 'cgroup2fs');
  });

  describe('prod-sudo: prod as dev, with the snapdebug sudo rule and nothing more', () => {
    const rule = readFileSync(join(labDir, 'recipe', 'host-files', 'sudoers-snapdebug'), 'utf8');

    it('logs in as dev, who may run exactly the seven programs as root without a password', async () => {
      assert.equal((await labSsh('prod-sudo', 'id -un; id -u')).trim(), 'dev\n1000');
      const listed = await labSsh('prod-sudo', 'sudo -n -l');
      const allowed = /NOPASSWD: (.*)$/m.exec(listed)?.[1]?.split(', ').map((path) => path.split('/').at(-1));
      assert.deepEqual(allowed, sudoPrograms);
      assert.equal((await labSsh('prod-sudo', 'sudo -n podman ps --format "{{.Names}}"')).includes('demo-api'), true);
    });

    it('refuses anything else: env, a shell, tee', async () => {
      for (const command of ['sudo -n env true', 'sudo -n sh -c true', 'sudo -n bash -c true', 'echo x | sudo -n tee /etc/x']) {
        const out = await labSsh('prod-sudo', `${command} 2>&1; echo "exit $?"`);
        assert.match(out, /sudo: a password is required\nexit 1$/, command);
      }
    });

    it('is the README\'s file, installed 0440 root and accepted by visudo, on every host', async () => {
      for (const host of hosts) {
        assert.equal(await labSsh(host, 'cat /etc/sudoers.d/snapdebug'), rule.trimEnd(), host);
        assert.equal((await labSsh(host, 'stat -c "%a %U" /etc/sudoers.d/snapdebug; visudo -c -q -f /etc/sudoers.d/snapdebug && echo valid')).trim(), '440 root\nvalid', host);
      }
      assert.ok(readFileSync(join(labDir, '..', 'README.md'), 'utf8').includes(rule.trim().split('\n').at(-1)!), 'the README quotes the rule');
    });

    it('names each program by the path sudo finds on every host (its secure_path)', async () => {
      for (const host of hosts) {
        const paths = await labSsh(host, `for p in ${sudoPrograms.join(' ')}; do PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin which $p; done`);
        assert.equal(paths.trim(), /NOPASSWD: (.*)$/m.exec(rule)![1]!.split(', ').join('\n'), host);
      }
    });
  });

  describe('snapdebug doctor', () => {
    it('is ready on each host and shows its podman, runtime, cgroups, CRIU and how copies lose their TCP connections', async () => {
      for (const host of hosts) {
        const { code, report } = await doctor(host);
        assert.equal(code, 0, `${host}: ${JSON.stringify(report.checks.filter((c) => c.level === 'fail'))}`);
        const detail = (name: string) => report.checks.find((c) => c.name === name)?.detail ?? '';
        assert.equal(detail('podman'), `podman ${expected[host].podman}`, host);
        assert.match(detail('runtime'), expected[host].runtime, host);
        assert.match(detail('cgroups'), new RegExp(`^${expected[host].cgroups}, cgroupfs manager$`), host);
        assert.equal(detail('criu version'), 'CRIU 4.2.1', host);
        assert.equal(detail('criu check'), 'Looks good.', host);
        assert.match(detail("copies' TCP connections"), expected[host].tcpClose, host);
      }
    });

    it('--peer: prod and legacy take each other\'s checkpoints, and edge2 edge\'s (CPU, runtime, cgroups), with a warning for podman 5 against 4', async () => {
      for (const [a, b] of [['prod', 'legacy'], ['legacy', 'prod'], ['prod', 'debug'], ['edge', 'edge2']] as const) {
        const { code, report } = await doctor(a, '--peer', b);
        assert.equal(code, 0, `${a} → ${b}: ${JSON.stringify(report.checks.filter((c) => c.level === 'fail'))}`);
        assert.equal(report.checks.find((c) => c.name === `cpu ${a} → ${b}`)?.level, 'ok');
        const runtime = a === 'edge' ? 'crun' : 'runc';
        assert.equal(report.checks.find((c) => c.name === `runtime ${a} → ${b}`)?.detail, `${b} has ${runtime}, which restores what ${a} checkpoints`);
        assert.equal(report.checks.find((c) => c.name === `cgroups ${a} → ${b}`)?.detail, `both cgroup ${a === 'edge' ? 'v2' : 'v1'}`);
        const versions = report.checks.find((c) => c.name === 'podman versions');
        assert.equal(versions?.level, [a, b].includes('legacy') ? 'warn' : undefined, `${a} → ${b}`);
      }
    });

    it('--peer: edge\'s crun checkpoints cannot be restored on legacy (no crun, cgroup v1): a sentence and a fix each', async () => {
      const { code, report } = await doctor('edge', '--peer', 'legacy');
      assert.equal(code, 1);
      const runtime = report.checks.find((c) => c.name === 'runtime edge → legacy');
      assert.equal(runtime?.level, 'fail', JSON.stringify(report.checks.filter((c) => c.level !== 'ok')));
      assert.match(runtime?.detail ?? '', /^A checkpoint taken with crun cannot be restored on legacy: podman there has no crun \(its runtime is runc\)/);
      assert.match(runtime?.fix ?? '', /^Install crun on legacy/);
      const cgroups = report.checks.find((c) => c.name === 'cgroups edge → legacy');
      assert.equal(cgroups?.level, 'fail');
      assert.match(cgroups?.detail ?? '', /^A checkpoint taken on edge \(cgroup v2\) cannot be restored on legacy \(cgroup v1\)/);
    });

    it('--peer: prod (cgroup v1) → edge (cgroup v2) fails on cgroups only; edge has runc too', async () => {
      const { code, report } = await doctor('prod', '--peer', 'edge');
      assert.equal(code, 1);
      assert.deepEqual(report.checks.filter((c) => c.level === 'fail').map((c) => c.name), ['cgroups prod → edge']);
      assert.equal(report.checks.find((c) => c.name === 'runtime prod → edge')?.level, 'ok');
    });
  });
});
