"""Models of the blog app; posts point at accounts.Author across apps."""

from reinhardt_migrations.pure.models import (
    CASCADE,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    ManyToMany,
    Model,
    Text,
    Varchar,
)


class Tag(Model):
    """A label posts can carry."""

    name = Varchar(50, unique=True)


class Post(Model):
    """A blog post, written by an author, with tags."""

    title = Varchar(200)
    slug = Varchar(200, unique=True)
    body = Text(default="")
    author = ForeignKey("accounts.Author", on_delete=CASCADE)
    published = Boolean(default=False)
    views = Integer(default=0)
    tags = ManyToMany(Tag)

    class Meta:
        indexes = [Index("-published", "title", name="blog_post_published_title_idx")]
        constraints = [CheckConstraint(check="views >= 0", name="blog_post_views_not_negative")]
