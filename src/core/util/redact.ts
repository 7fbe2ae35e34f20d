// Masks secrets in text bound for a log, a terminal's stderr or a notification: values of
// secret-looking names (DB_PASSWORD=, "token": , AWS_SECRET_ACCESS_KEY=, --api-key X, ...),
// credentials in URLs (scheme://user:pass@host), Authorization and Cookie headers, private key
// blocks, and tokens recognisable by their shape (AWS key ids, GitHub, GitLab, Slack, Stripe,
// Google, JWTs). One function for both faces; it errs on the side of masking too much.

const mask = '***';

/** Names whose values are secrets: *PASSWORD*, *TOKEN*, *SECRET*, *_KEY, API keys, credentials... */
const secretWords = /(?:password|passwd|passphrase|secret|token|api[_.-]?key|apikey|access[_.-]?key|private[_.-]?key|auth[_.-]?key|credentials?|signature|session[_.-]?id|cookie)/i;

export function isSecretName(name: string): boolean {
  // PWD and OLDPWD are the shell's working directories, not passwords.
  if (/^(old)?pwd$/i.test(name)) return false;
  const words = name.split(/[_.-]/);
  if (words.some((w) => /^(pass|pwd|passwd|passphrase)$/i.test(w))) return true;
  // STRIPE_KEY, SIGNING_KEY, ssh.key: a name ending in a "key" word (but not KEYBOARD, KEYS_DIR,
  // nor the public halves: accept-new-host-key, PUBLIC_KEY).
  if (words.length > 1 && /^key$/i.test(words.at(-1)!)) return !/^(host|public)$/i.test(words.at(-2)!);
  return secretWords.test(name) && !/^tokeni[sz]er$/i.test(name);
}

/** A value as it appears after `=` or `:`: quoted (kept quoted), or a run up to whitespace or a quote. */
const value = String.raw`("(?:[^"\\]|\\.)*"|'[^']*'|(?:'\\''|\\.|[^\s'"\\])+)`;

const rules: Array<[RegExp, (...groups: string[]) => string]> = [
  // Private keys: armour kept, body masked; a block cut off (no END line) is masked to the end.
  [/(-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g, (_m, begin, end) => `${begin}…${end}`],
  // scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@'"]*):([^\s/@'"]+)@/gi, (_m, scheme, user) => `${scheme}${user}:${mask}@`],
  // Authorization: Bearer abc / Proxy-Authorization: Basic abc / Authorization: abc
  [
    /\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?)((?:basic|bearer|digest|token|negotiate|ntlm|aws4-hmac-sha256|apikey|oauth|ssws)\s+)?([^\s"',]+)/gi,
    (_m, head, scheme = '') => `${head}${scheme}${mask}`,
  ],
  [/\b((?:set-)?cookie["']?\s*:\s*["']?)([^\r\n"']+)/gi, (_m, head) => `${head}${mask}`],
  [/\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, (_m, head) => `${head}${mask}`],
  // Tokens known by their shape, wherever they stand.
  [
    /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{20,}\b|\bglpat-[A-Za-z0-9_-]{20,}\b|\bxox[abprs]-[A-Za-z0-9-]{10,}\b|\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}\b|\bAIza[0-9A-Za-z_-]{35}\b|\bnpm_[A-Za-z0-9]{36}\b|\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}\b|\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g,
    () => mask,
  ],
  // --password hunter2, --api-key=... is handled below as name=value.
  [
    new RegExp(String.raw`((?:^|[\s'"])--?[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*\s+)(?!-)${value}`, 'g'),
    (whole, head, secret) => {
      const flag = head.trim().replace(/^['"]?-+/, '');
      return isSecretName(flag) ? `${head}${keepQuotes(secret)}` : whole;
    },
  ],
];

function keepQuotes(secret: string): string {
  const quote = secret[0] === '"' || secret[0] === "'" ? secret[0] : '';
  return quote && secret.endsWith(quote) && secret.length > 1 ? `${quote}${mask}${quote}` : mask;
}

/** Where a value starting at `start` ends: its closing quote, or whitespace; inside a quoted shell or JSON word, that word's end. */
function valueEnd(text: string, start: number, enclosing: string | undefined): number {
  const opening = text[start];
  if (opening === '"' || opening === "'") {
    for (let i = start + 1; i < text.length; i++) {
      if (opening === '"' && text[i] === '\\') i++;
      else if (text[i] === opening) return i + 1;
    }
    return text.length;
  }
  let i = start;
  while (i < text.length) {
    if (enclosing === "'" && text.startsWith("'\\''", i)) i += 4;
    else if (text[i] === '\\') i += 2;
    else if (enclosing && text[i] === enclosing) break;
    else if (!enclosing && /[\s'"]/.test(text[i]!)) break;
    else i++;
  }
  return Math.min(i, text.length);
}

/**
 * NAME=value, "name": "value", name: value, export NAME='value'. Scanned by hand so that a value
 * that is not masked is still searched for secrets (OPTS=user=a,password=b).
 */
function maskAssignments(text: string): string {
  const assignment = /([A-Za-z_][A-Za-z0-9_.-]*)(["']?\s*[=:](?!\/\/)\s*)/g;
  let out = '';
  let copied = 0;
  for (let match = assignment.exec(text); match; match = assignment.exec(text)) {
    const [whole, name] = match;
    const start = match.index + whole.length;
    if (!isSecretName(name!) || start >= text.length || /\s/.test(text[start]!)) continue;
    const before = text[match.index - 1];
    const end = valueEnd(text, start, before === "'" || before === '"' ? before : undefined);
    if (end <= start) continue;
    out += text.slice(copied, start) + keepQuotes(text.slice(start, end));
    copied = end;
    assignment.lastIndex = end;
  }
  return out + text.slice(copied);
}

export function redact(text: string): string {
  const masked = rules.reduce((out, [pattern, replace]) => out.replace(pattern, replace as (substring: string, ...args: string[]) => string), text);
  return maskAssignments(masked);
}
