// A setup file (vitest.config.ts): it runs before every test file, also when the files of a
// worker share one module graph, so each file's temporary folders go when its tests are done.
import { afterAll } from 'vitest';
import { removeTemporaryDirs } from './temp.js';

afterAll(removeTemporaryDirs);
