import { inspectCase } from '../lib/cases.cjs';
inspectCase('vitest');
