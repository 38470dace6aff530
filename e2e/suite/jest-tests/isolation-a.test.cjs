require('../lib/cases.cjs').isolationCase('a');
