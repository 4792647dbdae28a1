#ifndef SHAPES_H
#define SHAPES_H

#include <string>

namespace shapes {

class Shape {
public:
	virtual ~Shape() = default;
	virtual long area() const = 0;
	virtual std::string name() const = 0;
};

class Rect : public Shape {
public:
	Rect(long w, long h) : w_(w), h_(h) {}
	long area() const override;
	std::string name() const override;

private:
	long w_, h_;
};

/* Instantiated in shapes.cpp for long; the instance is a weak symbol in a COMDAT group. */
template <typename T> T scaled(T value, T factor);

long total_area(long w, long h);
long scaled_long(long v);
/* Throws std::out_of_range for a negative size. */
long checked_area(long w);

} // namespace shapes

#endif
