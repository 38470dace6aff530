import { isolationCase } from '../lib/cases.cjs';
isolationCase('c');
