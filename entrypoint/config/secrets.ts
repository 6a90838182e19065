// `${VAR}` expansion for bootseq.yml, `VAR_FILE` secrets and redaction. The only place that decides
// what counts as a secret; nothing here ever logs a value.

export interface Expansion {
  readonly value: string;
  readonly problems: readonly string[];
}

export interface SecretSource {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads at most `maxBytes` of a file for `VAR_FILE`; undefined when it cannot be read. */
  readFile(path: string, maxBytes: number): string | undefined;
}

/** A secret file is read up to this size; anything longer is not a secret (or is /dev/zero). */
const SECRET_FILE_MAX = 64 * 1024;
const SECRET_NAME = /PASS|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE/i;

/**
 * Resolves `${VAR}` references against the environment: VAR if set, else the contents of the file
 * named by VAR_FILE with trailing whitespace/CR/LF trimmed (docs/incidents.md (seeds/001)), else
 * `${VAR:-default}`'s default; anything else is a problem, never a silent empty string.
 */
export function createExpander(source: SecretSource) {
  const secrets = new Set<string>();
  const fromFiles: Record<string, string> = {};

  function lookup(name: string): { value: string | undefined; problem?: string } {
    const direct = source.env[name];
    if (direct !== undefined) {
      if (SECRET_NAME.test(name)) secrets.add(direct);
      return { value: direct };
    }
    const file = source.env[`${name}_FILE`];
    if (file !== undefined) {
      const text = source.readFile(file, SECRET_FILE_MAX + 1);
      if (text === undefined)
        return { value: undefined, problem: `${name}_FILE names ${file}, which cannot be read` };
      if (Buffer.byteLength(text) > SECRET_FILE_MAX)
        return {
          value: undefined,
          problem: `${name}_FILE names ${file}, which holds more than ${SECRET_FILE_MAX / 1024} KiB (expected a secret: a password, a token, a URL)`,
        };
      const value = text.replace(/[\s\r\n]+$/u, '');
      if (value === '') return { value: undefined, problem: `${name}_FILE names ${file}, which is empty` };
      secrets.add(value);
      fromFiles[name] = value;
      return { value };
    }
    return { value: undefined };
  }

  function expand(text: string): Expansion {
    const problems: string[] = [];
    const value = replaceReferences(text, (name, fallback) => {
      const found = lookup(name);
      if (found.value !== undefined) return found.value;
      if (found.problem) problems.push(found.problem);
      else if (fallback !== undefined) return fallback;
      else problems.push(`\${${name}} is not set (set ${name}, or ${name}_FILE to a file holding it)`);
      return '';
    });
    for (const password of urlPasswords(value)) secrets.add(password);
    return { value, problems };
  }

  return {
    expand,
    /** Variables that came from `VAR_FILE`, so children see them as if they were set. */
    resolvedFromFiles: (): Readonly<Record<string, string>> => ({ ...fromFiles }),
    redactor: () => createRedactor([...secrets]),
  };
}

/**
 * `${NAME}` and `${NAME:-default}` in `text`, each replaced by `fn(NAME, default)`; anything else is
 * kept as written. One pass: each `${` is looked at once and each `}` found once, so an unclosed
 * `${A:-…` repeated over a long value costs linear time (a regular expression here was quadratic).
 */
export function replaceReferences(
  text: string,
  fn: (name: string, fallback: string | undefined) => string,
): string {
  let out = '';
  let i = 0;
  for (;;) {
    const start = text.indexOf('${', i);
    if (start < 0) return out + text.slice(i);
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(start + 2, start + 2 + 256))?.[0];
    const after = start + 2 + (name?.length ?? 0);
    const hasDefault = text.startsWith(':-', after);
    if (!name || (!hasDefault && text[after] !== '}')) {
      out += text.slice(i, start + 2);
      i = start + 2;
      continue;
    }
    const close = text.indexOf('}', after);
    if (close < 0) return out + text.slice(i); // no `}` left: no later reference can close either
    out += text.slice(i, start) + fn(name, hasDefault ? text.slice(after + 2, close) : undefined);
    i = close + 1;
  }
}

/**
 * Where the passwords of `scheme://user:password@host` URLs are in `text`, as [start, end) spans. The
 * userinfo ends at the LAST `@` of the token (people paste passwords with unencoded `@ : / % #`): a
 * path with an `@` is over-redacted, never a byte of a password shown. Linear in the text's length:
 * each `://` is looked at once, its token scanned once (docs: issue "no input freezes").
 */
export function urlPasswordSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  let from = 0;
  for (;;) {
    const sep = text.indexOf('://', from);
    if (sep < 0) return spans;
    let end = sep + 3;
    while (end < text.length && !TOKEN_END.test(text[end]!)) end += 1;
    from = end;
    if (!hasScheme(text, sep)) continue;
    const token = text.slice(sep + 3, end);
    const at = token.lastIndexOf('@');
    const colon = token.indexOf(':');
    if (at < 0 || colon < 0 || colon > at) continue;
    spans.push([sep + 3 + colon + 1, sep + 3 + at]);
  }
}

const TOKEN_END = /[\s"'<>`]/;

/** A URL scheme right before `://`: a letter, then letters, digits, `+ . -` (at most 32). */
function hasScheme(text: string, sep: number): boolean {
  let start = sep;
  while (start > 0 && sep - start < 32 && /[a-z0-9+.-]/i.test(text[start - 1]!)) start -= 1;
  return start < sep && /[a-z]/i.test(text[start]!);
}

function urlPasswords(text: string): string[] {
  return urlPasswordSpans(text).flatMap(([a, b]) => {
    const password = text.slice(a, b);
    return [password, safeDecode(password)];
  });
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Replaces every URL password with ***, then every known secret left (a token from a `VAR_FILE`, a
 * `*PASSWORD*` variable). URLs first, so a URL read from a file still shows its host and database.
 * Linear: one scan for URLs, split/join per secret.
 */
function createRedactor(secrets: readonly string[]): (text: string) => string {
  const ordered = [...new Set(secrets)].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = redactUrlPasswords(text);
    for (const secret of ordered) if (out.includes(secret)) out = out.split(secret).join('***');
    return out;
  };
}

function redactUrlPasswords(text: string): string {
  const spans = urlPasswordSpans(text);
  if (spans.length === 0) return text;
  let result = '';
  let last = 0;
  for (const [a, b] of spans) {
    result += `${text.slice(last, a)}***`;
    last = b;
  }
  return result + text.slice(last);
}
