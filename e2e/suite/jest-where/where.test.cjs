require('../lib/cases.cjs').whereCase('platform');
