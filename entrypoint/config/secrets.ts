// `${VAR}` expansion for bootseq.yml, `VAR_FILE` secrets and redaction. The only place that decides
// what counts as a secret; nothing here ever logs a value.

export interface Expansion {
  readonly value: string;
  readonly problems: readonly string[];
}

export interface SecretSource {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a file for `VAR_FILE`; undefined when it cannot be read. */
  readFile(path: string): string | undefined;
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
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
      const text = source.readFile(file);
      if (text === undefined)
        return { value: undefined, problem: `${name}_FILE names ${file}, which cannot be read` };
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
    const value = text.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
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

function urlPasswords(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:([^@/?#\s]+)@/gi)) {
    if (match[1]) found.push(match[1], safeDecode(match[1]));
  }
  return found;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Replaces every known secret (and any URL password) in a text with ***. */
function createRedactor(secrets: readonly string[]): (text: string) => string {
  const ordered = [...new Set(secrets)].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@/?#\s]+)@/gi, '$1***@');
    for (const secret of ordered) if (out.includes(secret)) out = out.split(secret).join('***');
    return out;
  };
}
