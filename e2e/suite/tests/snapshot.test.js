import { snapshotCase } from '../lib/cases.cjs';
snapshotCase();
