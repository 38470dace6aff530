import { failingCase } from '../lib/cases.cjs';
failingCase();
