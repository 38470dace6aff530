require('../lib/cases.cjs').whereCase('slow', 60_000);
