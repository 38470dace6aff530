require('../lib/cases.cjs').snapshotCase();
