require('../node-case.cjs')(1);
