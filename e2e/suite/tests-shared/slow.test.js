import { whereCase } from '../lib/cases.cjs';
whereCase('slow', 60_000);
