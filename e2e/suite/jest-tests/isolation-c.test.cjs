require('../lib/cases.cjs').isolationCase('c');
