import { daemonCase } from '../lib/cases.cjs';
daemonCase();
