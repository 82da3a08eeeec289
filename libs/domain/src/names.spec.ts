import { checkPathComponents, isValidMetadataName, isValidShareName, pathKey, PathProblem } from './names';

describe('isValidShareName', () => {
  test.each([
    ['abc', true],
    ['my-share-01', true],
    ['0ab', true],
    ['a'.repeat(63), true],
    ['ab', false], // too short
    ['a'.repeat(64), false], // too long
    ['My-share', false], // upper case
    ['-abc', false], // starts with hyphen
    ['abc-', false], // ends with hyphen
    ['ab--cd', false], // consecutive hyphens
    ['ab_cd', false], // underscore
    ['ab.cd', false], // dot
    ['', false],
    ['ünï', false], // non-ASCII letters
  ])('%j → %s', (name, expected) => {
    expect(isValidShareName(name)).toBe(expected);
  });
});

describe('checkPathComponents', () => {
  // Components of 199 chars whose '/'-joined length is exactly `total`.
  const pathOfLength = (total: number) =>
    Array.from({ length: total }, (_, i) => (i % 200 === 199 ? '/' : 'x'))
      .join('')
      .split('/');
  const ok = undefined;
  const bad: PathProblem = 'InvalidResourceName';
  const tooLong: PathProblem = 'InvalidFileOrDirectoryPathName';
  test.each<[string, string[], PathProblem | undefined]>([
    ['share root (no components)', [], ok],
    ['single file', ['file.txt'], ok],
    ['nested path', ['dir', 'sub dir', 'file name.txt'], ok],
    ['unicode names', ['répertoire', '文件', '😀.txt'], ok],
    ['name with an extension of a reserved device', ['con.txt'], ok],
    ['reserved-looking but not reserved', ['COM0', 'LPT10', 'CONSOLE', '...'], ok],
    ['U+FFFE and U+FFFF (allowed since 2021-12-02)', ['a\ufffe\uffff'], ok],
    ['component of 255 chars', ['a'.repeat(255)], ok],
    ['path of exactly 2048 chars', pathOfLength(2048), ok],
    ['250 components', Array.from({ length: 250 }, () => 'd'), ok],
    ['empty component', ['dir', '', 'file'], bad],
    ['double quote', ['a"b'], bad],
    ['backslash', ['a\\b'], bad],
    ['slash inside a component', ['a/b'], bad],
    ['colon', ['a:b'], bad],
    ['pipe', ['a|b'], bad],
    ['less than', ['a<b'], bad],
    ['greater than', ['a>b'], bad],
    ['asterisk', ['a*b'], bad],
    ['question mark', ['a?b'], bad],
    ['NUL char', ['a\u0000b'], bad],
    ['tab (control char)', ['a\tb'], bad],
    ['0x1F', ['a\u001fb'], bad],
    ['C1 control \\u0081', ['a\u0081b'], bad],
    ['private-use \\uE000', ['a\ue000b'], bad],
    ['lone high surrogate', ['a\ud83d'], bad],
    ['lone low surrogate', ['\ude00b'], bad],
    ['reversed surrogate pair', ['\ude00\ud83d'], bad],
    ['CON', ['con'], bad],
    ['PRN upper case', ['PRN'], bad],
    ['AUX mixed case', ['Aux'], bad],
    ['NUL', ['nul'], bad],
    ['COM1', ['dir', 'COM1'], bad],
    ['com9', ['com9'], bad],
    ['LPT1', ['lpt1'], bad],
    ['LPT9', ['LPT9'], bad],
    ['CLOCK$', ['clock$'], bad],
    ['dot', ['.'], bad],
    ['dot dot', ['dir', '..', 'file'], bad],
    ['component of 256 chars', ['a'.repeat(256)], tooLong],
    ['path of 2049 chars', pathOfLength(2049), tooLong],
    ['251 components', Array.from({ length: 251 }, () => 'd'), tooLong],
    ['bad character wins over length limits', ['a'.repeat(300) + '*'], bad],
  ])('%s', (_label, components, expected) => {
    expect(checkPathComponents(components)).toBe(expected);
  });
});

describe('pathKey', () => {
  test.each<[string[], string]>([
    [[], ''],
    [['File.TXT'], 'file.txt'],
    [['Dir', 'Sub', 'ÉTÉ.doc'], 'dir/sub/été.doc'],
    [['dir', 'file'], 'dir/file'],
  ])('%j → %j', (components, expected) => {
    expect(pathKey(components)).toBe(expected);
  });

  it('gives paths differing only in case the same key', () => {
    expect(pathKey(['Dir', 'File.txt'])).toBe(pathKey(['DIR', 'file.TXT']));
  });
});

describe('isValidMetadataName', () => {
  test.each([
    ['name', true],
    ['Name1', true],
    ['_private', true],
    ['_', true],
    ['snake_case_2', true],
    ['café', true], // C# allows Unicode letters
    ['', false],
    ['1name', false], // starts with a digit
    ['my-name', false], // hyphen
    ['my.name', false],
    ['my name', false],
    ['@name', false], // verbatim identifiers are C# syntax, not names
    ['na$me', false],
  ])('%j → %s', (name, expected) => {
    expect(isValidMetadataName(name)).toBe(expected);
  });
});
