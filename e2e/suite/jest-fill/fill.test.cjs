require('../lib/fill-case.cjs').fillCase();
