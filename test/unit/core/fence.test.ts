// Fenced copies, the pure parts: HOST:PORT checked before anything is resolved or written, the nft
// text and podman flags a fence is made of (nothing from outside reaches them unchecked), the
// labels a copy carries and how they read back, and what the relabeller does to a fenced copy's
// config.dump (the lab's own, captured from podman 5.4).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { addLabels, attachToNetwork, entryRewrites } from '../../../src/core/archive/relabel';
import { decodeAllowed, describeEgress, encodeAllowed, parseEgress, parseEgressList, parseResolved } from '../../../src/core/fence/egress';
import { fenceHosts, fenceLabels } from '../../../src/core/fence/fence';
import { baseRules, copyRules, fenceIdOfNetwork, fenceNames, fenceRuleset, networkCreateFlags, newFenceId, routedAddresses } from '../../../src/core/fence/rules';
import { undoLine } from '../../../src/core/remote/work';
import { fixture } from '../helpers';

describe('fenced copies: what may pass, and how it is written', () => {
  describe('HOST:PORT', () => {
    it('takes names and IPv4 addresses with a port, lower-cased, without a trailing dot', () => {
      assert.deepEqual(parseEgress('db.internal:5432'), { host: 'db.internal', port: 5432 });
      assert.deepEqual(parseEgress(' DB.Example.COM.:443 '), { host: 'db.example.com', port: 443 });
      assert.deepEqual(parseEgress('10.0.0.5:6379'), { host: '10.0.0.5', port: 6379 });
      assert.deepEqual(parseEgress('localhost:1'), { host: 'localhost', port: 1 });
      assert.deepEqual(parseEgressList(['db:5432', 'DB:5432', '10.0.0.5:1']), [{ host: 'db', port: 5432 }, { host: '10.0.0.5', port: 1 }], 'each once');
    });

    const refused: Array<[string, RegExp]> = [
      ['db', /names no port/],
      [':5432', /names no port/],
      ['db:', /no port between 1 and 65535/],
      ['db:0', /no port between 1 and 65535/],
      ['db:65536', /no port between 1 and 65535/],
      ['db:54x', /no port between 1 and 65535/],
      ['db:-1', /no port between 1 and 65535/],
      ['[::1]:5432', /IPv6/],
      ['fe80::1:80', /IPv6/],
      ['*.internal:5432', /pattern or a range/],
      ['10.0.0.0/8:5432', /pattern or a range/],
      ['256.1.1.1:80', /neither a host name nor an IPv4/],
      ['10.0.0:80', /neither a host name nor an IPv4/],
      ['0.0.0.0:80', /names no single host/],
      ['db_1:80', /neither a host name nor an IPv4/],
      ['-db:80', /neither a host name nor an IPv4/],
      ['d b:80', /neither a host name nor an IPv4/],
      ['db;id:80', /neither a host name nor an IPv4/],
      ['db}accept:80', /neither a host name nor an IPv4/],
      [`${'a'.repeat(64)}.x:80`, /neither a host name nor an IPv4/],
    ];
    for (const [spec, message] of refused) {
      it(`refuses ${JSON.stringify(spec)}`, () => assert.throws(() => parseEgress(spec), message));
    }
  });

  it('reads IPv4 addresses out of getent ahostsv4, and nothing else', () => {
    const out = '10.0.0.5      STREAM db.internal\n10.0.0.5      DGRAM  \n10.0.0.6      RAW    \n::1 STREAM x\n999.1.1.1 STREAM\n$(reboot) STREAM\n';
    assert.deepEqual(parseResolved(out), ['10.0.0.5', '10.0.0.6']);
  });

  it('allowances ride on a label and read back; a label not of our making yields nothing it does not say well', () => {
    const allowed = [
      { host: 'db.internal', port: 5432, addresses: ['10.0.0.5', '10.0.0.6'] },
      { host: '10.0.0.7', port: 6379, addresses: ['10.0.0.7'] },
    ];
    assert.equal(encodeAllowed(allowed), 'db.internal:5432=10.0.0.5+10.0.0.6,10.0.0.7:6379=10.0.0.7');
    assert.deepEqual(decodeAllowed(encodeAllowed(allowed)), allowed);
    assert.deepEqual(decodeAllowed('db:5432=10.0.0.5+evil,x:0=1.2.3.4,y:80=,z:80=1.2.3.4;rm'), [{ host: 'db', port: 5432, addresses: ['10.0.0.5'] }]);
    assert.deepEqual(allowed.map(describeEgress), ['db.internal:5432 (10.0.0.5, 10.0.0.6)', '10.0.0.7:6379']);
    assert.deepEqual(fenceLabels({ id: 'abc123', allowed }), { 'snapdebug.fence': 'abc123', 'snapdebug.fence.allow': encodeAllowed(allowed) });
    assert.deepEqual(fenceLabels({ id: 'abc123', allowed: [] }), { 'snapdebug.fence': 'abc123' });
    assert.deepEqual(fenceHosts({ allowed }), ['db.internal:10.0.0.5', 'db.internal:10.0.0.6'], 'names go to /etc/hosts, addresses need nothing');
  });

  describe('the nft text and the network', () => {
    it('names everything after one six-hex id; the bridge fits Linux\'s 15 characters', () => {
      assert.deepEqual(fenceNames('0a1b2c'), { id: '0a1b2c', network: 'snapdebug-fence-0a1b2c', interfaceName: 'snapdebug0a1b2c', chain: 'allow_0a1b2c' });
      assert.equal(fenceNames('0a1b2c').interfaceName.length, 15);
      assert.match(newFenceId(), /^[0-9a-f]{6}$/);
      assert.equal(newFenceId(() => 'ffffff'), 'ffffff');
      for (const bad of ['', 'ABCDEF', 'abc12', 'abc1234', 'abc12;', '../../']) assert.throws(() => fenceNames(bad), /not a fence id/);
      assert.throws(() => newFenceId(() => 'x y z'), /not a fence id/);
      assert.equal(fenceIdOfNetwork('snapdebug-fence-0a1b2c'), '0a1b2c');
      assert.equal(fenceIdOfNetwork('podman'), undefined);
      assert.equal(fenceIdOfNetwork('snapdebug-fence-0a1b2c;x'), undefined);
    });

    it('the table only adds and flushes its own chains (applying it twice changes nothing); a copy\'s chain opens exactly its address and port', () => {
      const text = fenceRuleset('0a1b2c', [{ host: 'db', port: 5432, addresses: ['10.0.0.5', '10.0.0.6'] }]);
      assert.ok(text.split('\n').filter(Boolean).every((line) => /^(add|flush) /.test(line)), 'nothing deleted, nothing of anyone else named');
      assert.ok(text.split('\n').filter(Boolean).every((line) => / inet snapdebug( |$)/.test(line)), 'only our table');
      assert.deepEqual(baseRules().filter((l) => l.startsWith('add rule')), [
        'add rule inet snapdebug fence ct state established,related accept',
        'add rule inet snapdebug fence iifname vmap @allowed',
        'add rule inet snapdebug fence reject with icmpx admin-prohibited',
        'add rule inet snapdebug input iifname "snapdebug*" jump fence',
        'add rule inet snapdebug forward iifname "snapdebug*" jump fence',
      ]);
      assert.deepEqual(copyRules('0a1b2c', [{ host: 'db', port: 5432, addresses: ['10.0.0.5', '10.0.0.6'] }, { host: 'r', port: 6379, addresses: ['10.0.0.7'] }]), [
        'add chain inet snapdebug allow_0a1b2c',
        'flush chain inet snapdebug allow_0a1b2c',
        'add rule inet snapdebug allow_0a1b2c ip daddr { 10.0.0.5, 10.0.0.6 } tcp dport 5432 accept',
        'add rule inet snapdebug allow_0a1b2c ip daddr { 10.0.0.7 } tcp dport 6379 accept',
        'add rule inet snapdebug allow_0a1b2c counter',
        'add element inet snapdebug allowed { "snapdebug0a1b2c" : jump allow_0a1b2c }',
      ]);
      // Nothing unchecked reaches the text, whoever built the allowance.
      assert.throws(() => copyRules('0a1b2c', [{ host: 'x', port: 80, addresses: ['10.0.0.5 } accept ; add rule'] }]), /not an IPv4 address/);
      assert.throws(() => copyRules('0a1b2c', [{ host: 'x', port: 80, addresses: [] }]), /not an IPv4 address/);
      assert.throws(() => copyRules('0a1b2c', [{ host: 'x', port: 0, addresses: ['10.0.0.5'] }]), /not a port/);
      assert.deepEqual(routedAddresses([{ host: 'a', port: 1, addresses: ['10.0.0.5'] }, { host: 'b', port: 2, addresses: ['10.0.0.5', '10.0.0.6'] }]), ['10.0.0.5', '10.0.0.6']);
    });

    it('the network: our bridge name, no DNS server, labelled with the copy, no default route where podman has the option', () => {
      assert.deepEqual(networkCreateFlags('0a1b2c', 'api-snap-101010-abcdef', { noDefaultRoute: true }), [
        '--disable-dns', '--interface-name', 'snapdebug0a1b2c', '--label', 'snapdebug.fence=api-snap-101010-abcdef', '--opt', 'no_default_route=true',
      ]);
      assert.deepEqual(networkCreateFlags('0a1b2c', 'c', { noDefaultRoute: false }).slice(-2), ['--label', 'snapdebug.fence=c']);
      assert.throws(() => networkCreateFlags('0a1b2c', 'a,b=c', { noDefaultRoute: true }), /not a container name/);
      assert.equal(undoLine({ kind: 'fence', id: '0a1b2c', copy: 'api-copy' }), 'fence 0a1b2c api-copy');
      assert.throws(() => undoLine({ kind: 'fence', id: '0a1b2c\nkeep /', copy: 'api-copy' }), /not a fence id/);
    });
  });

  describe("a fenced copy's config.dump", () => {
    // config.dump of the lab's demo-api, as podman 5.4.2 wrote it into a checkpoint (the fixture
    // is the archive's head only: tar complains about the cut, after config.dump).
    let configDump: Buffer;
    before(() => {
      configDump = execFileSync('sh', ['-c', 'zstd -dc "$1" 2>/dev/null | tar -xOf - config.dump 2>/dev/null; true', 'sh', fixture('demo-api-checkpoint-head.tar.zst')]);
    });
    const config = (dump: Buffer) => JSON.parse(dump.toString()) as Record<string, unknown> & { newNetworks: object; hostsAdd?: string[]; labels: Record<string, string> };

    it('is attached to its own network only, under the interface name the original had; never restarts on its own; knows the allowed names', () => {
      const original = config(configDump);
      assert.deepEqual(original.newNetworks, { podman: { interface_name: 'eth0' } }, 'the fixture: the default network');
      const withPolicy = Buffer.from(JSON.stringify({ ...original, restart_policy: 'always', restart_retries: 3, newNetworks: { podman: { interface_name: 'eth1', static_ips: ['10.88.0.9'] }, other: {} } }));
      const fenced = config(attachToNetwork(withPolicy, { network: 'snapdebug-fence-0a1b2c', hosts: ['db.internal:10.0.0.5'] }));
      assert.deepEqual(fenced.newNetworks, { 'snapdebug-fence-0a1b2c': { interface_name: 'eth1' } });
      assert.equal(fenced['networkMode'], 'bridge');
      assert.equal(fenced['restart_policy'], undefined);
      assert.equal(fenced['restart_retries'], undefined);
      assert.deepEqual(fenced.hostsAdd, ['db.internal:10.0.0.5']);
      // A container that keeps its image's /etc/hosts cannot take entries (podman refuses both).
      assert.equal(config(attachToNetwork(Buffer.from(JSON.stringify({ ...original, UseImageHosts: true })), { network: 'n', hosts: ['a:10.0.0.1'] })).hostsAdd, undefined);
      // An interface name that is not one stays out.
      const odd = Buffer.from(JSON.stringify({ ...original, newNetworks: { podman: { interface_name: 'eth0; x' } } }));
      assert.deepEqual(config(attachToNetwork(odd, { network: 'n', hosts: [] })).newNetworks, { n: { interface_name: 'eth0' } });
    });

    it('labels of ours that the archive brings are dropped: production cannot name a fence for discard to take down', () => {
      const forged = Buffer.from(JSON.stringify({ ...config(configDump), labels: { app: 'api', 'snapdebug.fence': '0a1b2c', 'snapdebug.origin': 'x' } }));
      assert.deepEqual(config(addLabels(forged, { 'snapdebug.origin': 'snap-1' })).labels, { app: 'api', 'snapdebug.origin': 'snap-1' });
      const rewrite = entryRewrites({ labels: { 'snapdebug.origin': 'snap-1' }, network: { network: 'snapdebug-fence-0a1b2c', hosts: [] } });
      const rewritten = config(rewrite['config.dump']!(forged));
      assert.deepEqual(rewritten.labels, { app: 'api', 'snapdebug.origin': 'snap-1' });
      assert.deepEqual(rewritten.newNetworks, { 'snapdebug-fence-0a1b2c': { interface_name: 'eth0' } });
    });
  });
});
