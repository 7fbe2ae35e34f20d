// The lab's link profiles as plans: which relay shape and which tc calls each profile gives, the
// addresses and names of the lab link, and the link queue's arithmetic (rate, delay, order, a
// full queue) on an injected clock.
import { strict as assert } from 'node:assert';
import { LinkQueue } from '../../../lab/linkQueue';
import { hubLinkName, labAddress, labHostsFile } from '../../../lab/network';
import { labHosts } from '../../../lab/paths';
import { parseProfile, profileShapes, qdiscPlan, relayShape, tbfArgs } from '../../../lab/shaping';

describe('lab link shaping plan', () => {
  it('wan: 100 Mbit/s and 20 ms each way to each host; 1 Gbit/s between hosts', () => {
    const wan = profileShapes.wan;
    const relay = relayShape(wan.client!);
    assert.equal(relay.rateBytesPerSecond, 12_500_000);
    assert.equal(relay.oneWayDelayMs, 20);
    // Twice the bandwidth-delay product (12.5 MB/s × 40 ms = 500 kB).
    assert.equal(relay.queueLimitBytes, 1_000_000);
    assert.equal(wan.hostsRateBitsPerSecond, 1e9);
  });

  it('lan: 1 Gbit/s, 1 ms round trip; the queue never below 256 KiB', () => {
    const relay = relayShape(profileShapes.lan.client!);
    assert.equal(relay.rateBytesPerSecond, 125_000_000);
    assert.equal(relay.oneWayDelayMs, 0.5);
    assert.equal(relay.queueLimitBytes, 256 * 1024);
  });

  it('off shapes nothing: no relay, and the plan removes every qdisc it could have set', () => {
    assert.equal(profileShapes.off.client, undefined);
    const plan = qdiscPlan('off', ['prod', 'debug'], hubLinkName, 'eth-lab');
    assert.equal(plan.length, 4);
    for (const step of plan) {
      assert.equal(step.args[1], 'del');
      assert.equal(step.mayFail, true);
    }
  });

  it('wan and lan put a token bucket on both ends of every host veth', () => {
    const plan = qdiscPlan('wan', ['prod', 'debug'], hubLinkName, 'eth-lab');
    assert.deepEqual(
      plan.map((s) => [s.where, s.args[3]]),
      [
        ['hub', 'lab-prod'],
        [{ host: 'prod' }, 'eth-lab'],
        ['hub', 'lab-debug'],
        [{ host: 'debug' }, 'eth-lab'],
      ],
    );
    for (const step of plan) {
      assert.equal(step.mayFail, false);
      assert.deepEqual(step.args.slice(4, 7), ['root', 'tbf', 'rate']);
      assert.equal(step.args[7], '1000000000bit');
    }
  });

  it("a token bucket's burst holds a timer tick of traffic and two GSO packets", () => {
    const burst = (rate: number) => Number(tbfArgs('x', rate)[9]);
    assert.equal(burst(1e9), 250_000);
    assert.equal(burst(1e6), 128 * 1024);
  });

  it('profiles are parsed strictly', () => {
    assert.equal(parseProfile('wan'), 'wan');
    assert.throws(() => parseProfile('fast'), /one of off, lan, wan \(not fast\)/);
    assert.throws(() => parseProfile(undefined), /one of off, lan, wan$/);
  });

  it('every host has its own address in 10.77.0.0/24 and every host file names them all', () => {
    const addresses = labHosts.map((h) => labAddress(h.name));
    assert.equal(new Set(addresses).size, labHosts.length);
    for (const address of addresses) assert.match(address, /^10\.77\.0\.\d+$/);
    assert.equal(labHostsFile().trim().split('\n').length, labHosts.length);
    assert.match(labHostsFile(), /^10\.77\.0\.11 prod$/m);
    assert.throws(() => labAddress('nowhere'), /no lab host/);
    assert.throws(() => hubLinkName('a-very-long-name'), /too long/);
  });
});

describe('lab link queue', () => {
  const shape = { rateBytesPerSecond: 1000, oneWayDelayMs: 20, queueLimitBytes: 1500 };

  it('a chunk arrives after its serialisation at the rate plus the one-way delay', () => {
    const link = new LinkQueue(shape);
    assert.equal(link.accept(100, 0), 100 + 20);
  });

  it('chunks queue behind each other: the link is shared and keeps their order', () => {
    const link = new LinkQueue(shape);
    const first = link.accept(500, 0);
    const second = link.accept(500, 10);
    assert.equal(first, 520);
    assert.equal(second, 1020, 'the second starts when the first has left, not when it came');
    // An idle link starts a chunk at once.
    assert.equal(link.accept(100, 5000), 5120);
  });

  it('is full at its limit until bytes are delivered', () => {
    const link = new LinkQueue(shape);
    link.accept(1000, 0);
    assert.equal(link.full, false);
    link.accept(500, 0);
    assert.equal(link.full, true);
    link.delivered(1000);
    assert.equal(link.full, false);
    assert.equal(link.pendingBytes, 500);
  });
});
