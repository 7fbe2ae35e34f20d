// demo-api: the lab's production service. It keeps state in memory only, so the only way to see
// it on another host is a CRIU snapshot: a request counter, the most recent requests, and an
// object that grows every second. GET /state returns it. BALLAST_MB fills that much heap with
// data (for benchmarks of large snapshots). POST /note keeps the request's body in memory (the
// inspector's tests place a token in the heap this way and search the snapshot for it).
'use strict';
const http = require('http');

const state = {
  startedAt: new Date().toISOString(),
  requestCount: 0,
  recentRequests: new Map(), // request id -> { path, at }
  ticks: { count: 0, samples: [] },
  notes: [],
};

const ballast = [];
const ballastMb = Number(process.env.BALLAST_MB || 0);
for (let i = 0; i < ballastMb; i++) {
  // Distinct, incompressible-looking content so a snapshot really carries it.
  const chunk = Buffer.allocUnsafe(1024 * 1024);
  for (let j = 0; j < chunk.length; j += 4) chunk.writeUInt32LE((Math.random() * 0xffffffff) >>> 0, j);
  ballast.push(chunk);
}

function tick() {
  state.ticks.count += 1;
  state.ticks.samples.push({ n: state.ticks.count, at: Date.now() });
  if (state.ticks.samples.length > 600) state.ticks.samples.shift();
}
setInterval(tick, 1000);

function rememberRequest(req) {
  state.requestCount += 1;
  const id = state.requestCount;
  state.recentRequests.set(id, { path: req.url, at: new Date().toISOString() });
  if (state.recentRequests.size > 50) {
    state.recentRequests.delete(state.recentRequests.keys().next().value);
  }
  return id;
}

function snapshotOfState() {
  return {
    startedAt: state.startedAt,
    requestCount: state.requestCount,
    recentRequests: Object.fromEntries(state.recentRequests),
    ticks: state.ticks.count,
    ballastMb: ballast.length,
    pid: process.pid,
  };
}

function keepNote(req, res) {
  const parts = [];
  req.on('data', (part) => parts.push(part));
  req.on('end', () => {
    state.notes.push(Buffer.concat(parts).toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ notes: state.notes.length }));
  });
}

const server = http.createServer((req, res) => {
  rememberRequest(req);
  if (req.method === 'POST' && req.url === '/note') {
    keepNote(req, res);
    return;
  }
  if (req.url === '/state') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(snapshotOfState()));
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});

server.listen(Number(process.env.PORT || 8080), () => {
  console.log(`demo-api listening on ${server.address().port}`);
});
