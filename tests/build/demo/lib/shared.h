#ifndef SHARED_H
#define SHARED_H
int lib_value(int x);
#endif
