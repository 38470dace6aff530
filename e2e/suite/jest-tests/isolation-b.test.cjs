require('../lib/cases.cjs').isolationCase('b');
