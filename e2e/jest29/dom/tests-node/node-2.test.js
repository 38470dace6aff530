require('../node-case.cjs')(2);
