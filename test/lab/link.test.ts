// The lab link and its profiles, on the running lab: hosts reach each other by name with their
// own sshd on the link; `lab:link wan|lan|off` applies (token buckets on the veths, the relay's
// delay on this machine's path) and lab:status says which. Rates are benchmarks (lab/cli.ts
// measure, docs/architecture.md): here only that shaping is applied, in wide bands.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { labAddress, hubLinkName } from '../../lab/network';
import { clientPath, hostToHostPath, labLinkKnownHosts, roundTripMs } from '../../lab/measureLink';
import { readState } from '../../lab/state';
import { labSsh } from './helpers';

function labCli(...args: string[]): string {
  return execFileSync('npx', ['tsx', 'lab/cli.ts', ...args], { encoding: 'utf8' });
}

function hubQdiscs(): string {
  const hub = readState()?.hub;
  assert.ok(hub, 'the lab has a link hub');
  return execFileSync('nsenter', [`--net=/proc/${hub.pid}/ns/net`, 'tc', 'qdisc', 'show'], { encoding: 'utf8' });
}

describe('lab link', function () {
  this.timeout(120_000);
  const knownHosts = labLinkKnownHosts(['prod']);

  after(() => {
    labCli('link', 'off');
    knownHosts.remove();
  });

  it('debug resolves prod by name to its lab address, and prod\'s own sshd answers there', async () => {
    const out = await labSsh('debug', 'getent hosts prod; timeout 5 bash -c "exec 3<>/dev/tcp/prod/22; head -c 8 <&3"');
    assert.match(out, new RegExp(`^${labAddress('prod').replace(/\./g, '\\.')}\\s+prod$`, 'm'));
    assert.match(out, /SSH-2\.0-/);
    assert.match(await labSsh('prod', 'getent hosts debug'), new RegExp(`^${labAddress('debug').replace(/\./g, '\\.')}\\s`));
  });

  it('from inside debug\'s network, prod authenticates with its own host key on the lab address', () => {
    const path = hostToHostPath('debug', 'prod', knownHosts.file);
    const [command, ...args] = path.argv('hostname; echo $SSH_CONNECTION');
    const out = execFileSync(command!, args, { encoding: 'utf8' }).trim().split('\n');
    assert.equal(out[0], 'prod');
    assert.match(out[1]!, new RegExp(`^${labAddress('debug').replace(/\./g, '\\.')} \\d+ ${labAddress('prod').replace(/\./g, '\\.')} 22$`));
  });

  it('wan: token buckets on every host veth, this machine ↔ prod over 15 ms round trip, debug ↔ prod still under 5 ms', async () => {
    assert.match(labCli('link', 'wan'), /lab link: wan/);
    const qdiscs = hubQdiscs();
    for (const host of readState()!.hosts) assert.match(qdiscs, new RegExp(`qdisc tbf \\S+ dev ${hubLinkName(host.name)} root .*rate 1Gbit`));
    assert.match(await labSsh('prod', 'tc qdisc show dev eth-lab'), /qdisc tbf .*rate 1Gbit/);
    const client = await roundTripMs(clientPath('prod'), 5);
    assert.ok(client > 15, `this machine ↔ prod round trip ${client.toFixed(2)} ms on wan`);
    const hosts = await roundTripMs(hostToHostPath('debug', 'prod', knownHosts.file), 5);
    assert.ok(hosts < 5, `debug ↔ prod round trip ${hosts.toFixed(2)} ms on wan`);
    assert.match(labCli('status'), /profile wan \(this machine ↔ each host 100 Mbit\/s/);
  });

  it('lan: the relay still carries this machine\'s path (a delay over the bare 0.2 ms), under wan\'s', async () => {
    labCli('link', 'lan');
    assert.match(hubQdiscs(), /qdisc tbf .*rate 1Gbit/);
    const client = await roundTripMs(clientPath('prod'), 5);
    assert.ok(client > 0.7 && client < 15, `this machine ↔ prod round trip ${client.toFixed(2)} ms on lan`);
    assert.match(labCli('status'), /profile lan/);
  });

  it('off: no token bucket left, this machine ↔ prod unshaped again', async () => {
    labCli('link', 'off');
    assert.doesNotMatch(hubQdiscs(), /tbf/);
    assert.doesNotMatch(await labSsh('prod', 'tc qdisc show dev eth-lab'), /tbf/);
    const client = await roundTripMs(clientPath('prod'), 5);
    assert.ok(client < 5, `this machine ↔ prod round trip ${client.toFixed(2)} ms off`);
    assert.match(labCli('status'), /profile off \(unshaped\)/);
  });
});
