#include "shapes.h"

#include <memory>
#include <stdexcept>

namespace shapes {

long Rect::area() const
{
	return w_ * h_;
}

std::string Rect::name() const
{
	return "rect";
}

template <typename T> T scaled(T value, T factor)
{
	return value * factor;
}

template long scaled<long>(long, long);

long total_area(long w, long h)
{
	std::unique_ptr<Shape> s(new Rect(w, h));

	return s->area();
}

long scaled_long(long v)
{
	return scaled<long>(v, 3);
}

long checked_area(long w)
{
	if (w < -100)
		throw std::out_of_range("width below -100");
	return total_area(w, w);
}

} // namespace shapes
