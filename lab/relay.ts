// The shaped forwarder of one lab host (`lab:link wan|lan`): listens on 127.0.0.1:PORT in place
// of socat, runs the host's `sshd -i` (lab/enter-host.sh) for each connection and carries the bytes
// both ways through a LinkQueue per direction: the host's link rate, shared by all its
// connections, plus the one-way delay. Chunks leave in the order they came; a full queue pauses
// the sender, as a router's full buffer makes TCP slow down.
//
// usage: node --import tsx lab/relay.ts PORT RATE_BYTES_PER_S ONE_WAY_DELAY_MS QUEUE_LIMIT_BYTES -- COMMAND [ARG]...
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import { LinkQueue } from './linkQueue';

interface Arrival {
  atMs: number;
  bytes: number;
  deliver: (done: () => void) => void;
}

/** One direction: the queue's arithmetic, the arrivals in order, one timer for the earliest. */
class Direction {
  private readonly arrivals: Arrival[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly paused = new Set<Readable>();

  constructor(private readonly link: LinkQueue) {}

  /** Carries a chunk (or, with no chunk, the sender's end) from `source` to `sink`. */
  carry(source: Readable, sink: Writable, chunk: Buffer | undefined): void {
    const bytes = chunk?.length ?? 0;
    const atMs = this.link.accept(bytes, performance.now());
    const deliver = (done: () => void) => {
      if (sink.destroyed || sink.writableEnded) return done();
      if (chunk) return void sink.write(chunk, () => done());
      sink.end();
      done();
    };
    this.arrivals.push({ atMs, bytes, deliver });
    if (this.link.full && !source.isPaused()) {
      source.pause();
      this.paused.add(source);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.head >= this.arrivals.length) return;
    const waitMs = Math.max(0, this.arrivals[this.head]!.atMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.deliverDue();
    }, waitMs);
  }

  private deliverDue(): void {
    const now = performance.now();
    while (this.head < this.arrivals.length && this.arrivals[this.head]!.atMs <= now + 0.5) {
      const { bytes, deliver } = this.arrivals[this.head++]!;
      deliver(() => this.delivered(bytes));
    }
    if (this.head > 1024 && this.head * 2 > this.arrivals.length) {
      this.arrivals.splice(0, this.head);
      this.head = 0;
    }
    this.schedule();
  }

  private delivered(bytes: number): void {
    this.link.delivered(bytes);
    if (this.link.full) return;
    for (const source of this.paused) if (!source.destroyed) source.resume();
    this.paused.clear();
  }
}

function main(argv: string[]): void {
  const split = argv.indexOf('--');
  const [port, rate, delay, queue] = argv.slice(0, split).map(Number);
  const command = argv.slice(split + 1);
  if (split < 0 || command.length === 0 || ![port, rate, delay, queue].every((n) => Number.isFinite(n) && n! >= 0)) {
    console.error('usage: relay.ts PORT RATE_BYTES_PER_S ONE_WAY_DELAY_MS QUEUE_LIMIT_BYTES -- COMMAND [ARG]...');
    process.exit(2);
  }
  const shape = { rateBytesPerSecond: rate!, oneWayDelayMs: delay!, queueLimitBytes: queue! };
  const toHost = new Direction(new LinkQueue(shape));
  const toClient = new Direction(new LinkQueue(shape));

  const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket: Socket) => {
    const sshd = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
    const { stdin, stdout } = sshd;
    stdin.on('error', () => undefined); // sshd gone: its end of the pipe closes, nothing to tell
    socket.on('error', () => undefined); // a reset client: 'close' follows and ends sshd's input
    socket.on('data', (chunk: Buffer) => toHost.carry(socket, stdin, chunk));
    socket.on('end', () => toHost.carry(socket, stdin, undefined));
    socket.on('close', () => {
      if (!stdin.writableEnded) stdin.end();
    });
    stdout.on('data', (chunk: Buffer) => toClient.carry(stdout, socket, chunk));
    stdout.on('end', () => toClient.carry(stdout, socket, undefined));
    sshd.on('error', (error) => {
      console.error(`relay: ${command[0]}: ${error.message}`);
      socket.destroy();
    });
  });
  server.listen(port, '127.0.0.1', () => console.error(`relay on 127.0.0.1:${port}: ${(rate! * 8) / 1e6} Mbit/s, ${delay} ms each way, queue ${queue} bytes`));
  server.on('error', (error) => {
    console.error(`relay: ${error.message}`);
    process.exit(1);
  });
}

main(process.argv.slice(2));
