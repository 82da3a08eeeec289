// Compiled entry points resolve the @leasehold/* libraries to their compiled output beside them.
import { register } from 'tsconfig-paths';
import { resolve } from 'node:path';

register({ baseUrl: resolve(__dirname, '..'), paths: { '@leasehold/*': ['libs/*/src'] } });
