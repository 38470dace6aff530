import { fillCase } from '../lib/fill-case.cjs';
fillCase();
