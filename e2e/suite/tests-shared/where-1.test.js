import { whereCase } from '../lib/cases.cjs';
whereCase('1');
