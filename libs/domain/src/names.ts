// Azure Files naming rules ("Naming and Referencing Shares, Directories, Files, and Metadata").

const SHARE_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** 3–63 chars of lowercase letters, digits and single hyphens, starting and ending with a letter or digit. */
export function isValidShareName(name: string): boolean {
  return SHARE_NAME.test(name) && !name.includes('--');
}

export type PathProblem = 'InvalidResourceName' | 'InvalidFileOrDirectoryPathName';

const MAX_COMPONENT_LENGTH = 255;
const MAX_PATH_LENGTH = 2048;
const MAX_DEPTH = 250;

// `" \ / : | < > * ?`, control characters (C0, DEL and C1: the docs cite 0x00–0x1F and \u0081) and
// the BMP private-use area (the docs cite \uE000). U+FFFE/U+FFFF are allowed since 2021-12-02.
const FORBIDDEN_CHAR = /["\\/:|<>*?\u0000-\u001f\u007f-\u009f\ue000-\uf8ff]/;
// With the u flag a surrogate pair is one code point, so this only matches unpaired halves.
const LONE_SURROGATE = /[\ud800-\udfff]/u;
// Exact names only: Azure's list names devices, not device+extension, so `con.txt` is a valid name
// (unlike Win32). The /i flag without /u never folds non-ASCII letters onto ASCII ones.
const RESERVED_NAME = /^(?:CON|PRN|AUX|NUL|CLOCK\$|COM[1-9]|LPT[1-9]|\.|\.\.)$/i;

/**
 * Validates the decoded path components of a file or directory below a share (trailing-dot trimming
 * is the wire layer's job and happens before this). Returns undefined when valid; an empty list is
 * the share's root directory and is valid. Lengths count UTF-16 code units (a .NET
 * string's Length), so a character outside the BMP counts as two.
 *
 * Bad names are reported before size limits: 'InvalidResourceName' for an empty component, a
 * forbidden character, an unpaired surrogate or a reserved name; 'InvalidFileOrDirectoryPathName' for
 * a component over 255 chars, a path over 2048 chars (components joined by '/') or more than 250
 * components.
 */
export function checkPathComponents(components: string[]): PathProblem | undefined {
  const badName = components.some(
    (c) => c === '' || FORBIDDEN_CHAR.test(c) || LONE_SURROGATE.test(c) || RESERVED_NAME.test(c),
  );
  if (badName) return 'InvalidResourceName';
  if (
    components.length > MAX_DEPTH ||
    components.some((c) => c.length > MAX_COMPONENT_LENGTH) ||
    components.join('/').length > MAX_PATH_LENGTH
  ) {
    return 'InvalidFileOrDirectoryPathName';
  }
  return undefined;
}

/** Case-insensitive key of a path for lookups (case-preserving storage, case-insensitive identity). */
export function pathKey(components: string[]): string {
  return components.join('/').toLowerCase();
}

// C# identifier (ECMA-334): starts with a letter (Lu Ll Lt Lm Lo Nl) or '_', continues with letters,
// decimal digits (Nd), connectors (Pc, includes '_'), combining marks (Mn Mc) and format chars (Cf).
// Names arrive as x-ms-meta-* header names, so in practice this is [A-Za-z_][A-Za-z0-9_]*.
const METADATA_NAME = /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Nd}\p{Pc}\p{Mn}\p{Mc}\p{Cf}]*$/u;

/** Metadata names follow C# identifier rules. */
export function isValidMetadataName(name: string): boolean {
  return METADATA_NAME.test(name);
}
