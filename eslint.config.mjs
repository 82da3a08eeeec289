// ESLint: typescript-eslint's type-checked recommendations over every TypeScript file. Layout is
// Prettier's (eslint-config-prettier turns the formatting rules off; `prettier --check` enforces it).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Nest handlers, ports and test doubles are async by contract; one that happens not to await is fine.
      '@typescript-eslint/require-await': 'off',
      // Names, headers and XML are checked for control characters on purpose.
      'no-control-regex': 'off',
      // Destructuring out the fields a value must not show (`{ seq: _seq, ...shown }`) is the point.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  // apps/console/src is browser code: the project service types it with apps/console/tsconfig.json
  // (the DOM library, no Node types), so a Node global there is a type error, and these rules apply as everywhere.
  {
    // Tests assert on raw SQL rows and parsed XML, and benches print them: the assertion (or the
    // figure a reader checks) is what validates their shape, so typing every row would only repeat it.
    files: ['test/**/*.ts', 'bench/**/*.ts', '**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  // The CLI launcher is a Node CommonJS script.
  { files: ['bin/*.js'], languageOptions: { globals: { console: 'readonly', process: 'readonly' } } },
  prettier,
);
